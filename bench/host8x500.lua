-- The snapshot benchmark's host: 8 domains x 2 vCPUs x 500 tasks.
host { pcpus = 2 }
for d = 1, 8 do
  local dom = "VM" .. d
  domain { name = dom, vcpus = 2, ram = "64M" }
  for i = 1, 4 do task { dom = dom, comm = "crunch" .. i, run = cpu() } end
  for i = 1, 495 do
    task { dom = dom, comm = "w" .. i, run = periodic { run = "1ms", sleep = (50 + i % 200) .. "ms" } }
  end
end
