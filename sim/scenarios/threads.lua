-- Threads linked as Linux links them: a database of 5 threads and a
-- web server of 3 on one guest; only the leaders are on init_task.tasks,
-- every thread hangs off its leader's signal->thread_head.  Workers of a
-- pool exit as preempt=full lets them, reaped while still queued (on a
-- run queue, on no list); the pool's leader exits first and waits as a
-- zombie for its last thread.
host { pcpus = 2 }

domain { name = "T1", vcpus = 2, ram = "64M" }

task { dom = "T1", comm = "db", pid = 500, threads = 4, run = cpu() }
-- a thread of db that named itself (pthread_setname_np): still db's
task { dom = "T1", comm = "db-flush", pid = 510, tgid = 500,
       run = periodic { run = "2ms", sleep = "8ms" } }
task { dom = "T1", comm = "web", pid = 600, threads = 3,
       run = periodic { run = "4ms", sleep = "6ms" } }
task { dom = "T1", comm = "pool", pid = 700, threads = 6, run = cpu(),
       exit = "700ms", exit_queued = true }
task { dom = "T1", comm = "hog", pid = 800, nice = -5, run = cpu() }
