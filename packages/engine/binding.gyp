{
  # Two native targets, built by `npm install` through node-gyp (no download: headers come from the
  # local Node). mcpj-jail is a plain executable (the jail and the seccomp supervisor); mcpj_native
  # is a small N-API addon for what Node cannot do itself: receive a file descriptor over a unix
  # socket (SCM_RIGHTS), used to take the jail's network sockets out of it, and relay bytes between
  # two sockets on a thread of its own (the egress proxy's tunnels).
  "target_defaults": {
    "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-D_GNU_SOURCE"],
    "cflags!": ["-fno-exceptions"],
  },
  "targets": [
    {
      "target_name": "mcpj-jail",
      "type": "executable",
      "sources": [
        "native/jail/main.c",
        "native/jail/ctl_in.c",
        "native/jail/fdpass.c",
        "native/jail/wire.c",
        "native/jail/plan.c",
        "native/jail/report.c",
        "native/jail/mounts.c",
        "native/jail/idmap.c",
        "native/jail/landlock.c",
        "native/jail/identity.c",
        "native/jail/netif.c",
        "native/jail/init.c",
        "native/jail/probe.c",
        "native/jail/supervisor.c",
        "native/jail/sup_jobs.c",
        "native/jail/sup_target.c",
        "native/jail/sup_answer.c",
        "native/jail/sup_open.c",
        "native/jail/sup_path.c",
        "native/jail/sup_net.c",
        "native/jail/sup_exec.c",
        "native/jail/sup_tables.c",
        "native/jail/sup_events.c",
        "native/jail/deputy.c",
        "native/jail/deputy_fs.c",
        "native/jail/deputy_open.c",
        "native/jail/deputy_mounts.c",
        "native/jail/deputy_paths.c",
        "native/jail/deputy_net.c",
        "native/jail/mem_watch.c",
      ],
      "ldflags": ["-pie", "-Wl,-z,relro,-z,now", "-pthread"],
    },
    {
      "target_name": "mcpj_native",
      "sources": ["native/addon/fdpass.c", "native/addon/relay.c"],
      "ldflags": ["-pthread"],
    },
  ],
}
