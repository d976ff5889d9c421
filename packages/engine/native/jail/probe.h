#ifndef MCPJ_PROBE_H
#define MCPJ_PROBE_H
/* `mcpj-jail --probe`: tries each kernel feature the jail uses, in throwaway child processes, and
 * prints one line per feature ("feature NAME ok=1 errno=0 value=N") for `mcp-j doctor`. */
int probe_run(void);
#endif
