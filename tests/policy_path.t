#!/bin/bash
# policy_path.t - a policy given by a bare name is found on the policy path,
# from any folder: $XDS_LUA_PATH first, then policies/ beside the build;
# `require` also searches $XDS_LUA_PATH's folders and their lib/; -l finds
# policies/lib; a name found nowhere is the same error as before.
set -u
. "$(dirname "$0")/tap.sh" policy_path sim
X=$PWD/$X
SC=$PWD/sim/scenarios/paper.lua
echo "1..5"
cd "$T" || exit 1

"$X" --sim "$SC" --duration 200ms --report r1.json global_priority.lua U1/db U2/web 'U1/bkup*' \
	>out1 2>err1 && grep -q '"policy": *"global_priority"' r1.json
ok $? "global_priority.lua is found in the build tree's policies/ from another folder" || show err1

mkdir -p mine/lib
printf 'return { answer = 42 }\n' >mine/lib/helper.lua
printf 'local h = require "helper"\nlocal policy = require "policy"\nassert(h.answer == 42)\nreturn { name = "mine", tick = function() end }\n' >mine/mypol.lua
XDS_LUA_PATH=$T/mine "$X" --sim "$SC" --duration 200ms --report r2.json mypol >out2 2>err2 &&
	grep -q '"policy": *"mine"' r2.json
ok $? "XDS_LUA_PATH: mypol (without .lua) is found there, and requires its lib/ and policies/lib" || show err2

printf 'return { name = "shadow", tick = function() end }\n' >mine/quota.lua
XDS_LUA_PATH=$T/mine "$X" --sim "$SC" --duration 200ms --report r3.json quota.lua >out3 2>err3 &&
	grep -q '"policy": *"shadow"' r3.json
ok $? "XDS_LUA_PATH comes before the shipped policies" || show err3

"$X" -l policy -e 'assert(type(policy.quota) == "function")' >out4 2>&1
ok $? "-l policy loads policies/lib/policy.lua from another folder" || show out4

"$X" --sim "$SC" --duration 200ms no_such_policy.lua >out5 2>err5
[ $? = 1 ] && grep -q 'cannot open no_such_policy.lua' err5
ok $? "a name found nowhere: exit 1, 'cannot open NAME'" || show err5
