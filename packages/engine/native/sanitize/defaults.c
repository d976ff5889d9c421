/*
 * Linked only into the sanitizer build of mcpj-jail (scripts/sanitize.sh). The helper is started
 * with an empty environment, so ASAN_OPTIONS cannot reach it: the defaults are compiled in.
 * Leak checking is off: the plan lives until exit by design, and LeakSanitizer's ptrace-based
 * stop-the-world does not work from inside the jail's namespaces.
 */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void) { return "detect_leaks=0:abort_on_error=0:exitcode=86"; }
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1:exitcode=87"; }
