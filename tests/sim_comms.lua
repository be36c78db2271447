-- sim_comms.lua - tasks whose comms are bytes that JSON and a terminal must
-- take care of: a quote, a backslash, a newline, a tab and byte 1; UTF-8;
-- and a byte that is not UTF-8.  tests/unit/test_comm_bytes.c follows each
-- through xds-sim's JSON, the QMP client, Lua, ps and xds-lua's report.
host { pcpus = 1 }
domain { name = "B", vcpus = 1, ram = "32M" }
task { dom = "B", pid = 101, comm = 'a"b\\c\n\t\1', run = cpu() }
task { dom = "B", pid = 102, comm = "d\u{e9}\u{20ac}", run = cpu() }
task { dom = "B", pid = 103, comm = "bad\xffbyte", run = cpu() }
