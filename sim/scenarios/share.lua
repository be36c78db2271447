-- Three busy classes competing for one physical CPU, for policies/share.lua:
-- U1 runs a database (db) and a backup job (bkup) on its one vCPU, U2 a
-- web server (web) on its own.  db is busy for 60 s, then idle for 60 s;
-- bkup and web are always busy.  Without a policy the hypervisor halves the
-- CPU between the domains (db and bkup a quarter each, web a half); with
-- share.lua U1/db=60 U2/web=30 U1/bkup=10 they get 60/30/10 in the first
-- minute and, db idle, web and bkup 75/25 in the second.
host { pcpus = 1 }

domain { name = "U1", vcpus = 1, ram = "64M", weight = 256 }
domain { name = "U2", vcpus = 1, ram = "64M", weight = 256 }

task { dom = "U1", comm = "db",   pid = 210, run = phases { busy = "60s", idle = "60s" } }
task { dom = "U1", comm = "bkup", pid = 320, run = cpu() }
task { dom = "U2", comm = "web",  pid = 150, run = cpu() }
