// Landlock access rights (include/uapi/linux/landlock.h), as of ABI 7. The helper masks them with
// what the running kernel knows; the plan always states the full intent.
export const FS = {
  EXECUTE: 1n << 0n,
  WRITE_FILE: 1n << 1n,
  READ_FILE: 1n << 2n,
  READ_DIR: 1n << 3n,
  REMOVE_DIR: 1n << 4n,
  REMOVE_FILE: 1n << 5n,
  MAKE_CHAR: 1n << 6n,
  MAKE_DIR: 1n << 7n,
  MAKE_REG: 1n << 8n,
  MAKE_SOCK: 1n << 9n,
  MAKE_FIFO: 1n << 10n,
  MAKE_BLOCK: 1n << 11n,
  MAKE_SYM: 1n << 12n,
  REFER: 1n << 13n,
  TRUNCATE: 1n << 14n,
  IOCTL_DEV: 1n << 15n,
} as const;

export const NET = {
  BIND_TCP: 1n << 0n,
  CONNECT_TCP: 1n << 1n,
} as const;

export const SCOPE = {
  ABSTRACT_UNIX_SOCKET: 1n << 0n,
  SIGNAL: 1n << 1n,
} as const;

/** Every filesystem right: the ruleset handles all of them, so whatever no rule grants is denied. */
export const ALL_FS = Object.values(FS).reduce((a, b) => a | b, 0n);

export const READ = FS.READ_FILE | FS.READ_DIR;
export const READ_EXEC = READ | FS.EXECUTE;
/** Writable grants: create, change and remove, but never execute, and no REFER (so rename and
 * link across directories fail with EXDEV instead of moving files between rule scopes). */
export const READ_WRITE =
  READ |
  FS.WRITE_FILE |
  FS.REMOVE_DIR |
  FS.REMOVE_FILE |
  FS.MAKE_DIR |
  FS.MAKE_REG |
  FS.MAKE_SOCK |
  FS.MAKE_FIFO |
  FS.MAKE_SYM |
  FS.TRUNCATE;
