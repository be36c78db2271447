-- The paper's Fig. 2 experiment: U1 runs process 1, process 2 and a
-- lowest-priority process; U2 runs one process.  The first three alternate
-- running and sleeping; the lowest-priority one is always busy.  With
-- idle_only.lua the lowest one may run only when nothing else on the host
-- is runnable.
host { pcpus = 1 }

domain { name = "U1", vcpus = 1, ram = "64M", weight = 256 }
domain { name = "U2", vcpus = 1, ram = "64M", weight = 256 }

task { dom = "U1", comm = "proc1",  pid = 301, run = periodic { run = "30ms", sleep = "120ms", jitter = "10ms" } }
task { dom = "U1", comm = "proc2",  pid = 302, run = periodic { run = "50ms", sleep = "200ms", jitter = "20ms" } }
task { dom = "U1", comm = "lowest", pid = 303, nice = 19, run = cpu() }
task { dom = "U2", comm = "proc3",  pid = 401, run = periodic { run = "40ms", sleep = "150ms", jitter = "15ms" } }
