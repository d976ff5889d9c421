#!/bin/sh
# mcp-j's npm script-shell for the npx profile (npm_config_script_shell points here).
# npm starts package binaries as `SHELL -c "BIN ARGS..."`. Inside the jail those binaries live in
# the jail-private npm cache, which is writable and therefore never executable (W^X: a noexec
# mount and no Landlock EXECUTE right). A JavaScript binary is therefore started the way its
# shebang would have started it, as `node FILE ARGS...`, which needs only read access to FILE;
# anything else goes to /bin/sh unchanged, where the exec allowlist decides.
if [ "$#" -eq 2 ] && [ "$1" = "-c" ]; then
  line=$2
  eval "set -- $line"
  bin=$(command -v "$1" 2>/dev/null)
  if [ -n "$bin" ] && [ -f "$bin" ] && read -r first < "$bin"; then
    case "$first" in
      '#!'*node*)
        shift
        exec node "$bin" "$@"
        ;;
    esac
  fi
  exec /bin/sh -c "$line"
fi
exec /bin/sh "$@"
