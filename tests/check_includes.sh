#!/bin/sh
# The include graph as rules (docs/DESIGN.md, "Boundaries" and "The
# queue's layers"): the boundaries between processes are enforced, not
# just drawn, and the queue's files include only headers of their own
# layer or below, so no include (hence no call) goes up a layer.
#
# Rule table 1, by file group: the directories it may include from.
#   qualified  - "dir/x.h" includes allowed (any other directory fails)
#   bare       - directories a bare "x.h" may come from (the file's own
#                directory and src/ itself, for bounds.h, always may)
# A group not listed may include anything.
src="$1/src"; fail=0

rules='
# group        qualified                    bare
lib/*          -                            lib
proc/*         -                            lib
net/*          -                            lib
smtp/*         mauth                        lib,proc,net
auth/*         auth                         lib,proc
local/*        local                        lib
deliver/*      deliver                      lib,proc,net
queue/*        queue,local,mauth            lib,proc
mauth/*        mauth                        lib
verify/*       verify,mauth,deliver         lib,proc,net
signer/*       signer,mauth                 lib,proc
ctl/*          auth,parent,ctl,verify,deliver,signer,mauth lib,proc,net
parent/*       auth,deliver,queue,smtp,signer,verify lib,proc,net
'

# Rule table 2, the queue's layers (a file's header has its layer):
# 4 adapters, 3 decide, 2 actions, 1.5 build and make durable (written
# 15 below, tenths), 1 the state, 0 pure and disk.
layers='
queue 40
queue_peer 40
queue_ctl 40
queue_sched 30
queue_bounce 20
queue_remote 20
queue_local 20
queue_direct 20
queue_pipe 20
queue_ingest 15
queue_dkim 15
queue_signer 15
queue_commit 15
queue_sync 15
queue_state 10
route 0
spool 0
spool_pool 0
envelope 0
alias 0
qplan 0
sched 0
bounce 0
'

# includes FILE - the quoted includes of FILE, one a line
includes() {
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

# inlist WORD LIST - is WORD in the comma-separated LIST?
inlist() {
	case ",$2," in *",$1,"*) return 0 ;; esac
	return 1
}

while read -r group qual bare; do
	case "$group" in ''|'#'*) continue ;; esac
	dir=${group%/*}
	for f in "$src"/$group; do
		[ -f "$f" ] || continue
		for inc in $(includes "$f"); do
			case "$inc" in
			*/*)
				d=${inc%%/*}
				if ! inlist "$d" "$qual"; then
					echo "FAIL: $f includes $inc ($group may" \
					    "include from: ${qual#-}; none if empty)"
					fail=1
				fi ;;
			*)
				ok=no
				[ -f "$src/$dir/$inc" ] && ok=yes
				[ -f "$src/$inc" ] && ok=yes
				for b in $(echo "$bare" | tr ',' ' '); do
					[ -f "$src/$b/$inc" ] && ok=yes
				done
				if [ $ok = no ]; then
					echo "FAIL: $f includes $inc (not from" \
					    "$dir/ or $bare)"
					fail=1
				fi ;;
			esac
		done
	done
done <<EOF
$rules
EOF

# layer NAME - the layer of queue/NAME.h, or nothing
layer() {
	echo "$layers" | awk -v n="$1" '$1 == n { print $2 }'
}

for f in "$src"/queue/*.c "$src"/queue/*.h; do
	[ -f "$f" ] || continue
	stem=$(basename "$f"); stem=${stem%.*}
	mine=$(layer "$stem")
	if [ -z "$mine" ]; then
		echo "FAIL: $f has no layer in tests/check_includes.sh"
		fail=1
		continue
	fi
	for inc in $(includes "$f"); do
		case "$inc" in queue/*) ;; *) continue ;; esac
		name=${inc#queue/}; name=${name%.h}
		theirs=$(layer "$name")
		if [ -z "$theirs" ] || [ "$theirs" -gt "$mine" ]; then
			echo "FAIL: $f (layer $mine) includes $inc" \
			    "(layer ${theirs:-none}): a queue file includes" \
			    "only its own layer or below"
			fail=1
		fi
	done
done

exit $fail
