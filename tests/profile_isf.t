#!/bin/bash
# profile_isf.t - Volatility 3's ISF JSON, both ways, on the real Debian
# 6.1 kernel's DWARF profile (skips when the kernel files are not cached):
#   - `profile export --isf` validates (python3-jsonschema) against the ISF
#     6.x structure: metadata.format 6.x and producer, base_types with
#     kind/size/signed/endian, user_types with kind/size/fields of
#     offset+type descriptors (base, pointer, array, struct, enum,
#     function, bitfield), enums, symbols with an address.  Volatility's
#     own schema file is under the Volatility Software Licence, so the
#     structure it requires is written out here instead of shipped;
#   - the exported ISF builds the same profile back (every struct, field,
#     sym and the banner);
#   - an ISF in dwarf2json's style (the pid in an anonymous union, the
#     cpu inside a struct-typed thread_info field, a bitfield, pointers)
#     builds the same profile;
#   - an ISF of another format version, or without the banner, is refused.
set -u
. "$(dirname "$0")/tap.sh" pisf
python3 -c 'import jsonschema' 2>/dev/null || { echo "1..0 # SKIP python3-jsonschema missing"; exit 0; }

kd=$(scripts/kernel-debug --image 2>/dev/null) && eval "$kd" && [ -s "${vmlinux:-}" ] ||
	{ echo "1..0 # SKIP no cached kernel files (scripts/kernel-debug --image)"; exit 0; }
profiles="debian:$vmlinux:$sysmap"
body() { grep -E '^(struct|field|sym|banner) ' "$1" | sort; }

cat >"$T/schema.py" <<'EOF'
import json, sys, jsonschema
ref = lambda n: {"$ref": "#/definitions/" + n}
string, integer = {"type": "string"}, {"type": "integer"}
def kind(k, props, req): return {"type": "object", "properties": dict(kind={"type": "string", "pattern": k}, **props),
                                 "required": ["kind"] + req, "additionalProperties": False}
defs = {
 "desc": {"oneOf": [ref("pointer"), ref("base"), ref("array"), ref("struct"), ref("enum"), ref("function"), ref("bitfield")]},
 "pointer": kind("^pointer$", {"subtype": ref("desc"), "base": string}, ["subtype"]),
 "base": kind("^base$", {"name": string}, ["name"]),
 "array": kind("^array$", {"subtype": ref("desc"), "count": integer}, ["subtype", "count"]),
 "struct": kind("^(struct|class|union)$", {"name": string}, ["name"]),
 "enum": kind("^enum$", {"name": string}, ["name"]),
 "function": kind("^function$", {}, []),
 "bitfield": kind("^bitfield$", {"bit_position": integer, "bit_length": integer,
                  "type": {"oneOf": [ref("base"), ref("enum")]}}, ["bit_position", "bit_length", "type"]),
}
isf = {"type": "object", "definitions": defs, "additionalProperties": False,
 "required": ["metadata", "base_types", "user_types", "enums", "symbols"],
 "properties": {
  "metadata": {"type": "object", "required": ["format"], "properties": {
     "format": {"type": "string", "pattern": "^6\\.[0-9]+\\.[0-9]+$"},
     "producer": {"type": "object", "required": ["name", "version"], "properties": {
        "name": string, "version": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$"}}},
     "linux": {"type": "object", "additionalProperties": False, "properties": {"symbols": {"type": "array"}, "types": {"type": "array"}}}}},
  "base_types": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": False,
     "required": ["size", "kind", "signed", "endian"], "properties": {"size": integer, "signed": {"type": "boolean"},
     "kind": {"type": "string", "pattern": "^(void|int|float|char|bool)$"}, "endian": {"type": "string", "pattern": "^(little|big)$"}}}},
  "user_types": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": False,
     "required": ["kind", "size", "fields"], "properties": {"kind": {"type": "string", "pattern": "^(struct|union|class)$"},
     "size": integer, "fields": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": False,
        "required": ["type", "offset"], "properties": {"type": ref("desc"), "offset": integer, "anonymous": {"type": "boolean"}}}}}}},
  "enums": {"type": "object", "additionalProperties": {"type": "object", "required": ["size", "base", "constants"]}},
  "symbols": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": False,
     "required": ["address"], "properties": {"address": {"type": "number"}, "linkage_name": string,
     "type": ref("desc"), "constant_data": string}}}}}
jsonschema.validate(json.load(open(sys.argv[1])), isf)
EOF

# dwarf2json's style: nested and anonymous types, a bitfield, pointers.
cat >"$T/restyle.py" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
u = d["user_types"]; ts = u["task_struct"]["fields"]
if "pid" in ts:                       # pid into an anonymous union
    off = ts.pop("pid")["offset"]
    u["unnamed_union_1"] = {"kind": "union", "size": 4, "fields": {"pid": {"offset": 0, "type": {"kind": "base", "name": "int"}}}}
    d["base_types"]["int"] = {"kind": "int", "size": 4, "signed": True, "endian": "little"}
    ts["unnamed_field_0"] = {"offset": off, "anonymous": True, "type": {"kind": "union", "name": "unnamed_union_1"}}
if "thread_info.cpu" in ts:           # cpu through a struct-typed field
    ti, cpu = ts["thread_info"], ts.pop("thread_info.cpu")
    u["thread_info"]["fields"]["cpu"] = {"offset": cpu["offset"] - ti["offset"], "type": cpu["type"]}
    ti["type"] = {"kind": "struct", "name": "thread_info"}
if "on_cpu" in ts and ts["on_cpu"]["type"].get("name") == "unsigned int":   # a bitfield at a byte
    f = ts["on_cpu"]; f["offset"] -= f["offset"] % 4
    f["type"] = {"kind": "bitfield", "bit_position": 8 * (f["offset"] % 4), "bit_length": 32, "type": {"kind": "base", "name": "unsigned int"}}
for f in u["list_head"]["fields"].values():
    f["type"] = {"kind": "pointer", "subtype": {"kind": "struct", "name": "list_head"}}
json.dump(d, open(sys.argv[2], "w"))
EOF

echo "1..$((6 * $(echo $profiles | wc -w) + 2))"
for spec in $profiles; do
	IFS=: read -r label elf map <<<"$spec"
	"$X" profile build --vmlinux "$elf" --system-map "$map" -o "$T/$label.p" >/dev/null
	ok $? "$label: DWARF profile builds"
	"$X" profile export "$T/$label.p" --isf "$T/$label.json"
	ok $? "$label: profile export --isf writes $(wc -c <"$T/$label.json") bytes"
	python3 "$T/schema.py" "$T/$label.json" 2>"$T/err"
	ok $? "$label: the export validates against the ISF 6.x structure $(tail -1 "$T/err")"
	"$X" profile build --isf "$T/$label.json" -o "$T/$label.back" >/dev/null 2>"$T/err" &&
		diff <(body "$T/$label.p") <(body "$T/$label.back") >"$T/diff"
	ok $? "$label: the ISF builds the same profile back ($(grep -c . <(body "$T/$label.p")) lines) $(cat "$T/err") $(head -3 "$T/diff")"
	"$X" profile show "$T/$label.back" | grep -q '^source .* (ISF)$'
	ok $? "$label: profile show names the ISF source"
	python3 "$T/restyle.py" "$T/$label.json" "$T/$label.d2j.json" && python3 "$T/schema.py" "$T/$label.d2j.json" &&
		"$X" profile build --isf "$T/$label.d2j.json" -o "$T/$label.d2j" >/dev/null 2>"$T/err" &&
		diff <(body "$T/$label.p") <(body "$T/$label.d2j") >"$T/diff"
	ok $? "$label: a dwarf2json-style ISF (anonymous union, nested struct, bitfield, pointers) gives the same profile $(cat "$T/err") $(head -3 "$T/diff")"
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["metadata"]["format"]="4.1.0"; json.dump(d,open(sys.argv[2],"w"))' "$T/debian.json" "$T/old.json"
"$X" profile build --isf "$T/old.json" -o "$T/x.p" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "format '4.1.0'" "$T/err"
ok $? "an ISF 4.x file is refused: $(cat "$T/err")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["symbols"]["linux_banner"].pop("constant_data"); json.dump(d,open(sys.argv[2],"w"))' "$T/debian.json" "$T/nob.json"
"$X" profile build --isf "$T/nob.json" -o "$T/x.p" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q banner "$T/err"
ok $? "an ISF without the banner is refused: $(cat "$T/err")"
