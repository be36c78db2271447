-- The paper's example (Tadokoro, Kourai, Chiba): one physical CPU shared by
-- two VMs of equal weight.  U1 runs a database (db) and a backup job (bkup);
-- U2 runs a web server (web).  db and web alternate busy and idle phases;
-- bkup is always busy.  The wanted order is db > web > bkup, which no
-- hypervisor weight expresses: whenever db is idle, bkup takes U1's half of
-- the CPU while web, runnable, waits.
host { pcpus = 1 }

domain { name = "U1", vcpus = 1, ram = "64M", weight = 256 }
domain { name = "U2", vcpus = 1, ram = "64M", weight = 256 }

task { dom = "U1", comm = "db",   pid = 210, run = phases { busy = "1s", idle = "1s" } }
task { dom = "U1", comm = "bkup", pid = 320, run = cpu() }
task { dom = "U2", comm = "web",  pid = 150, run = phases { busy = "1.5s", idle = "1s", offset = "500ms" } }
