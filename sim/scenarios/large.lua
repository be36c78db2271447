-- A large host: 4 domains x 2 vCPUs x 500 tasks on 2 physical CPUs.
-- Per domain: a few CPU-bound tasks, a multi-threaded service, a task
-- group, and hundreds of mostly sleeping periodic and bursty tasks.
host { pcpus = 2 }

for d = 1, 4 do
  local dom = "VM" .. d
  domain { name = dom, vcpus = 2, ram = "128M", weight = 256 * d }
  group { dom = dom, name = "batch", shares = 512 }
  for i = 1, 4 do
    task { dom = dom, comm = "crunch" .. i, pid = 1000 + i, run = cpu() }
  end
  task { dom = dom, comm = "svc", pid = 1100, threads = 16,
         run = bursty { run = "2ms", sleep = "20ms" } }
  for i = 1, 20 do
    task { dom = dom, comm = "batch" .. i, pid = 1200 + i, group = "batch",
           run = periodic { run = "5ms", sleep = "45ms", jitter = "2ms" } }
  end
  for i = 1, 460 do
    task { dom = dom, comm = "worker" .. i, pid = 2000 + i,
           run = periodic { run = "1ms", sleep = (100 + i % 400) .. "ms", jitter = "500us" } }
  end
end
