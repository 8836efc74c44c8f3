#!/bin/sh
# NodePulse agent for Linux hosts without Node.js: POSIX sh (dash, busybox sh), reads /proc, /sys
# and `df`, sends with nc (plain http://), curl or wget. Same flags, environment and spool rules as the Node agent.
# The wire contract is shared/contracts/ingest.ts (statsSample, hostDetail): send nothing else.
# Run with --help for usage.

NODEPULSE_AGENT_VERSION=0.1.0

LC_ALL=C
export LC_ALL
PATH=${PATH:-/usr/local/bin:/usr/bin:/bin}:/usr/sbin:/sbin

UNIT_NAME=nodepulse-agent.service
UNIT_PATH=/etc/systemd/system/$UNIT_NAME
ENV_PATH=/etc/nodepulse/agent.env
SCRIPT_PATH=/usr/local/lib/nodepulse/nodepulse-agent.sh
SERVICE_SPOOL=/var/lib/nodepulse
# Where systemd keeps a DynamicUser's StateDirectory ($SERVICE_SPOOL links to it).
SERVICE_PRIVATE_SPOOL=/var/lib/private/nodepulse
MAX_BATCH_SAMPLES=1000
MAX_BATCH_BYTES=65536
# The server refuses samples more than 5 minutes ahead of its clock.
MAX_SKEW=300
# What the Nodes page shows where the token goes until one is pasted in.
TOKEN_PLACEHOLDER=PASTE-THE-NODE-TOKEN-HERE

usage() {
	cat <<EOF
Usage: nodepulse-agent.sh [options]

Samples this host every --interval seconds from /proc, /sys and df and sends the samples to a
NodePulse server. Samples that cannot be sent are kept in a spool on disk and sent when the
server answers again.

  --server URL          server base URL                       (NODEPULSE_SERVER)
  --node-id ID          this node's id on the server          (NODEPULSE_NODE_ID)
  --token-file FILE     file holding the node token           (NODEPULSE_TOKEN_FILE)
  --token TOKEN         the node token (shows in ps: prefer NODEPULSE_TOKEN or --token-file)
                                                              (NODEPULSE_TOKEN)
  --interval SECONDS    seconds between samples, default 5    (NODEPULSE_INTERVAL)
  --spool-dir DIR       where unsent samples wait             (NODEPULSE_SPOOL_DIR)
                        default \${XDG_STATE_HOME:-\$HOME/.local/state}/nodepulse
                        ($SERVICE_SPOOL for the service)
  --spool-max N         most samples kept, default 24 h at the interval (NODEPULSE_SPOOL_MAX)
  --once                sample, send and exit: 0 sent, 2 token refused, 3 unknown node,
                        1 anything else (the sample is spooled when it can be sent later)
  --debug               also log every sample's fate (NODEPULSE_DEBUG=1)
  --install-service     install and start the systemd unit $UNIT_NAME (as root)
  --uninstall-service   stop and remove it; the spool is kept unless --purge is given
  --purge               with --uninstall-service: remove the service's spool too
  --root DIR            with --install-service/--uninstall-service: write under DIR and do
                        not call systemctl (for tests)
  --version             print the version
  --help                print this help

Sends to an http:// server with nc (OpenBSD's, else busybox's), else curl, else wget; to an
https:// server with curl, else wget. NODEPULSE_HTTP_CLIENT=nc|curl|wget forces one.
EOF
}

log() { printf 'nodepulse-agent: %s\n' "$*" >&2; }
debug() { if [ "$debug" = 1 ]; then printf 'nodepulse-agent: debug: %s\n' "$*" >&2; fi; }
die() { code=$1; shift; log "$*"; exit "$code"; }

# ---------------------------------------------------------------------------------------------
# Settings: flags win over the environment.

server=${NODEPULSE_SERVER-}
node_id=${NODEPULSE_NODE_ID-}
token=${NODEPULSE_TOKEN-}
token_file=${NODEPULSE_TOKEN_FILE-}
interval=${NODEPULSE_INTERVAL:-5}
spool_dir=${NODEPULSE_SPOOL_DIR-}
spool_max=${NODEPULSE_SPOOL_MAX-}
debug=${NODEPULSE_DEBUG:-0}
once=0
action=run
purge=0
root=
token_flag=0

# A token given as a flag shows in ps to every local user: warn, then run again with it moved into
# the environment (readable only by this user), so it shows only for the moment before the exec.
for a in "$@"; do
	case $a in --token | --token=*) ;; *) continue ;; esac
	log "warning: --token shows the token to every local user in ps; use NODEPULSE_TOKEN, --token-file FILE (mode 0600) or --install-service (keeps it in a 0600 file)"
	self_exe=$(readlink /proc/$$/exe 2>/dev/null)
	[ -r "$0" ] && [ -n "$self_exe" ] || break
	n=$# skip=0
	while [ "$n" -gt 0 ]; do
		a=$1
		shift
		n=$((n - 1))
		if [ "$skip" = 1 ]; then
			skip=0 NODEPULSE_TOKEN=$a
			continue
		fi
		case $a in
		--token) skip=1; continue ;;
		--token=*) NODEPULSE_TOKEN=${a#--token=}; continue ;;
		esac
		set -- "$@" "$a"
	done
	export NODEPULSE_TOKEN
	case $self_exe in
	*busybox*) exec "$self_exe" sh "$0" "$@" ;;
	*) exec "$self_exe" "$0" "$@" ;;
	esac
done

need_value() { [ $# -ge 2 ] || die 1 "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
	opt=$1
	case $opt in
	--*=*) val=${opt#*=}; opt=${opt%%=*}; shift; set -- "$opt" "$val" "$@" ;;
	esac
	case $opt in
	--server) need_value "$@"; server=$2; shift 2 ;;
	--node-id) need_value "$@"; node_id=$2; shift 2 ;;
	--token) need_value "$@"; token=$2; token_flag=1; shift 2 ;;
	--token-file) need_value "$@"; token_file=$2; shift 2 ;;
	--interval) need_value "$@"; interval=$2; shift 2 ;;
	--spool-dir) need_value "$@"; spool_dir=$2; shift 2 ;;
	--spool-max) need_value "$@"; spool_max=$2; shift 2 ;;
	--root) need_value "$@"; root=$2; shift 2 ;;
	--once) once=1; shift ;;
	--debug) debug=1; shift ;;
	--install-service) action=install; shift ;;
	--uninstall-service) action=uninstall; shift ;;
	--purge) purge=1; shift ;;
	--version) printf 'nodepulse-agent-sh %s\n' "$NODEPULSE_AGENT_VERSION"; exit 0 ;;
	--help | -h) usage; exit 0 ;;
	*) die 1 "unknown option: $opt (see --help)" ;;
	esac
done

is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
[ "$purge" = 1 ] && [ "$action" != uninstall ] && die 1 "--purge goes with --uninstall-service"
uid=$(id -u 2>/dev/null || echo 65534)

load_settings() {
	if [ -z "$token" ] && [ -n "$token_file" ]; then
		stdin=0
		case $token_file in /dev/stdin | /dev/fd/0 | /proc/self/fd/0) stdin=1 ;; esac
		[ "$stdin" = 1 ] || [ -r "$token_file" ] || die 1 "cannot read the token file $token_file"
		if [ "$stdin" = 0 ] && [ -f "$token_file" ]; then
			IFS= read -r token <"$token_file" || [ -n "$token" ] || die 1 "the token file $token_file is empty"
			token=${token%"$(printf '\r')"}
		else
			# A pipe (printf '%s\n' TOKEN | sh nodepulse-agent.sh --token-file /dev/stdin ...): it can be
			# read only once, so all of it is read here, and blanks and line ends around the token go.
			# Standard input is read as it is (fd 0), not opened again by name: that fails for a socket.
			if [ "$stdin" = 1 ]; then
				[ -t 0 ] && die 1 "--token-file $token_file: nothing is piped in (printf '%s\n' TOKEN | sh nodepulse-agent.sh --token-file /dev/stdin ...)"
				token=$(cat) || die 1 "cannot read the token from standard input"
			else
				token=$(cat -- "$token_file") || die 1 "cannot read the token file $token_file"
			fi
			token=${token#"${token%%[![:space:]]*}"}
			token=${token%"${token##*[![:space:]]}"}
			[ -n "$token" ] || die 1 "the token file $token_file is empty"
		fi
	fi
	[ -n "$server" ] || die 1 "no server: give --server URL or NODEPULSE_SERVER"
	case $server in http://?* | https://?*) ;; *) die 1 "--server must be an http:// or https:// URL, not '$server'" ;; esac
	case $server in *[!A-Za-z0-9._~:/?#@!\$\&\'\(\)*+,\;=%[\]-]*) die 1 "--server '$server' holds characters a URL cannot" ;; esac
	while :; do case $server in */) server=${server%/} ;; *) break ;; esac; done
	is_uint "$node_id" && [ "$node_id" -gt 0 ] || die 1 "no valid node id: give --node-id N or NODEPULSE_NODE_ID (a positive number, not '$node_id')"
	[ -n "$token" ] || die 1 "no token: set NODEPULSE_TOKEN, give --token-file FILE, or --token TOKEN"
	[ "$token" = "$TOKEN_PLACEHOLDER" ] && die 2 "the token is still the placeholder $TOKEN_PLACEHOLDER: put the node's token there (the Nodes page shows it when the node is added; a new one is made there too)"
	case $token in *[!A-Za-z0-9._~+/=-]*) die 1 "the token holds characters a node token never has: check it" ;; esac
	is_uint "$interval" && [ "$interval" -ge 1 ] && [ "$interval" -le 86400 ] || die 1 "--interval must be whole seconds from 1 to 86400, not '$interval'"
	# Given (flag or environment): the service's env file keeps it; else the default follows the interval.
	spool_max_given=0
	if [ -z "$spool_max" ]; then spool_max=$((86400 / interval)); else spool_max_given=1; fi
	is_uint "$spool_max" && [ "$spool_max" -ge 1 ] || die 1 "--spool-max must be a positive number of samples, not '$spool_max'"
	# As the Node agent: the user's state directory, root's too (the service's env file names
	# $SERVICE_SPOOL), so a run by hand never shares the service's spool.
	[ -n "$spool_dir" ] || spool_dir=${XDG_STATE_HOME:-${HOME:-/tmp}/.local/state}/nodepulse
}

# ---------------------------------------------------------------------------------------------
# --install-service / --uninstall-service

need_root() {
	if [ -z "$root" ] && [ "$uid" != 0 ]; then
		die 1 "--$action-service needs root: run it with sudo (or as root)"
	fi
}

# One authenticated request before anything is written: one real sample sent to the server.
# A refused token (2) or unknown node (3) installs nothing; an unreachable server is only a warning.
verify_token() {
	read_os
	take_sample
	printf '%s' "$sample_json" >"$body_f"
	http_post "$stats_url" "$body_f"
	classify
	answer_field message
	msg=${REPLY:+ ($REPLY)}
	case $result in
	ok) log "the server at $server accepted the token for node $node_id" ;;
	auth)
		if [ "$http_status" = 401 ]; then
			die 2 "the server refused the token (401): it is wrong or was revoked$msg; nothing installed: copy the node's current token from the Nodes page"
		fi
		die 2 "the token belongs to another node (403)$msg; nothing installed: check --node-id $node_id against the token (Nodes page)"
		;;
	unknown) die 3 "node $node_id does not exist on the server (404)$msg; nothing installed: check --node-id, or add the node on the Nodes page" ;;
	refused) log "warning: the server refused the test sample ($http_status$msg) but took the token: installing" ;;
	*)
		if [ "$http_status" = 000 ]; then why="unreachable: $http_error"; else why="answered $http_status$msg"; fi
		log "warning: could not check the token: the server at $server is $why; installing anyway (the service keeps samples in its spool until the server answers; follow it with journalctl -u $UNIT_NAME -f)"
		;;
	esac
}

service_action() {
	unit=$root$UNIT_PATH env_file=$root$ENV_PATH script=$root$SCRIPT_PATH
	if [ "$action" = uninstall ]; then
		run_systemctl disable --now "$UNIT_NAME"
		rm -f "$unit" "$env_file" "$script" || die 1 "could not remove the service files"
		rmdir "${env_file%/*}" "${script%/*}" 2>/dev/null
		if [ "$purge" = 1 ]; then
			rm -rf "$root$SERVICE_SPOOL" "$root$SERVICE_PRIVATE_SPOOL" || die 1 "could not remove the spool $SERVICE_SPOOL"
		fi
		run_systemctl daemon-reload
		if [ "$purge" = 1 ]; then
			log "removed $UNIT_NAME, $ENV_PATH, $SCRIPT_PATH and the spool $SERVICE_SPOOL"
		else
			log "removed $UNIT_NAME, $ENV_PATH and $SCRIPT_PATH; samples still spooled stay in $SERVICE_SPOOL (add --purge to remove them)"
		fi
		exit 0
	fi
	[ -r "$0" ] || die 1 "cannot read this script ($0) to install it: download it to a file first"
	verify_token
	umask 022
	mkdir -p "${script%/*}" "${unit%/*}" || die 1 "could not create ${script%/*}"
	if [ "$0" != "$script" ]; then cp "$0" "$script.tmp" && mv -f "$script.tmp" "$script" || die 1 "could not copy the script to $script"; fi
	chmod 0755 "$script"
	umask 077
	mkdir -p "${env_file%/*}" || die 1 "could not create ${env_file%/*}"
	# The token lives only here (mode 0600), never on a command line.
	{
		printf '# NodePulse agent settings, read by %s. Holds the node token: keep it 0600.\n' "$UNIT_NAME"
		printf 'NODEPULSE_SERVER=%s\nNODEPULSE_NODE_ID=%s\nNODEPULSE_TOKEN=%s\n' "$server" "$node_id" "$token"
		printf 'NODEPULSE_INTERVAL=%s\nNODEPULSE_SPOOL_DIR=%s\n' "$interval" "$SERVICE_SPOOL"
		if [ "$spool_max_given" = 1 ]; then printf 'NODEPULSE_SPOOL_MAX=%s\n' "$spool_max"; fi
	} >"$env_file.tmp" && chmod 0600 "$env_file.tmp" && mv -f "$env_file.tmp" "$env_file" || die 1 "could not write $env_file"
	umask 022
	cat >"$unit.tmp" <<EOF || die 1 "could not write $unit"
[Unit]
Description=NodePulse agent (POSIX shell)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
EnvironmentFile=$ENV_PATH
ExecStart=/bin/sh $SCRIPT_PATH
Restart=always
RestartSec=5
# A user of its own, no capabilities, and a read-only system but for the spool ($SERVICE_SPOOL,
# where the FIFO and wgetrc live too). /proc, /sys and df stay readable; home directories stay
# visible read-only so df measures a /home filesystem as it is.
DynamicUser=yes
StateDirectory=nodepulse
StateDirectoryMode=0700
ReadWritePaths=$SERVICE_SPOOL
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
RestrictRealtime=yes
LockPersonality=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
CapabilityBoundingSet=
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
EOF
	mv -f "$unit.tmp" "$unit" || die 1 "could not write $unit"
	run_systemctl daemon-reload
	# restart, not start: a re-install must replace a running agent with the new script and settings.
	run_systemctl enable "$UNIT_NAME"
	run_systemctl restart "$UNIT_NAME"
	log "installed $UNIT_NAME (settings and token in $ENV_PATH, mode 0600); logs: journalctl -u $UNIT_NAME"
	exit 0
}

run_systemctl() {
	if [ -n "$root" ]; then
		printf 'would run: systemctl %s\n' "$*"
	elif ! systemctl "$@"; then
		[ "$1" = disable ] || die 1 "systemctl $* failed"
	fi
}

if [ "$action" != run ]; then need_root; fi
if [ "$action" = uninstall ]; then service_action; fi
load_settings
# The install's check of the token sends with this agent's own code; its files go in a directory
# of their own, removed at the end.
work_dir=
if [ "$action" = install ]; then
	work_dir=$(mktemp -d 2>/dev/null) || { work_dir=${TMPDIR:-/tmp}/nodepulse-install.$$ && mkdir -m 0700 "$work_dir"; } || die 1 "cannot make a temporary directory"
	spool_dir=$work_dir
fi

unset NODEPULSE_TOKEN

# ---------------------------------------------------------------------------------------------
# Files: everything lives in the spool dir (mode 0700), in the format the Node agent uses too
# (cli/agent/spool.ts), so a host that switches agent kind keeps its backlog: segment files
# <13-digit rising number>.jsonl, one sample per line, appended to (never rewritten but to drop
# the oldest samples past --spool-max) and sealed at one send batch; a line a crash cut short, or
# any unreadable line, is moved aside to <number>.corrupt when the segment is sent; `dropped` holds
# the count of dropped samples the server was not told of; agent.lock the running agent's pid.

umask 077
mkdir -p "$spool_dir" 2>/dev/null && [ -w "$spool_dir" ] || die 1 "cannot write the spool dir $spool_dir (give --spool-dir DIR)"
tmp_f=$spool_dir/.spool.tmp
bad_f=$spool_dir/.bad.tmp
body_f=$spool_dir/.body.tmp
resp_f=$spool_dir/.response.tmp
hdr_f=$spool_dir/.headers.tmp
err_f=$spool_dir/.error.tmp
wgetrc_f=$spool_dir/.wgetrc.tmp
dropped_f=$spool_dir/dropped
lock_f=
sleep_pid=
watchdog_pid=
# Samples taken by this run; said when it stops (-1 until the loop starts, so --once and the
# service commands stay quiet).
samples_taken=-1

cleanup() {
	[ "$samples_taken" -ge 0 ] && log "stopped: $samples_taken samples taken this run, $spool_count waiting in the spool"
	samples_taken=-1
	[ -n "$sleep_pid" ] && kill "$sleep_pid" 2>/dev/null
	[ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null
	rm -f "$tmp_f" "$bad_f" "$body_f" "$resp_f" "$hdr_f" "$err_f" "$wgetrc_f" "$fifo_f"
	[ -n "$lock_f" ] && drop_lock
	lock_f=
	[ -n "$work_dir" ] && rm -rf "$work_dir"
	work_dir=
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# One agent per spool: agent.lock, its first line the pid, created exclusively (set -C) - the same
# file the Node agent takes, so the two never share a spool. A lock is stale when its process is
# gone or is no NodePulse agent (its pid reused): it is removed and made again, then read back, in
# case another agent took it over at the same moment.
take_lock() {
	f=$spool_dir/agent.lock
	for _ in 1 2 3; do
		if (set -C && printf '%s\n' "$$" >"$f") 2>/dev/null; then
			sleep 0.1 2>/dev/null || sleep 1
			other=
			{ read -r other <"$f"; } 2>/dev/null
			if [ "$other" = "$$" ]; then lock_f=$f; return 0; fi
			continue
		fi
		other=
		{ read -r other <"$f"; } 2>/dev/null
		if is_uint "$other" && [ "$other" != "$$" ] && [ -d "/proc/$other" ]; then
			# Unreadable (another user's process, hidden): taken as an agent, never taken over.
			cmd=nodepulse
			[ -r "/proc/$other/cmdline" ] && cmd=$(tr '\0' ' ' <"/proc/$other/cmdline" 2>/dev/null)
			case $cmd in
			*nodepulse*) die 1 "another agent (pid $other) already uses the spool dir $spool_dir: stop it or give --spool-dir" ;;
			esac
		fi
		debug "taking over the stale lock $f (pid ${other:-none})"
		rm -f "$f"
	done
	die 1 "could not take the lock $f"
}

# Removes the lock if it is still this agent's.
drop_lock() {
	other=
	{ read -r other <"$lock_f"; } 2>/dev/null
	[ "$other" = "$$" ] && rm -f "$lock_f"
}
[ "$action" = run ] && take_lock

# ---------------------------------------------------------------------------------------------
# HTTP: the token never goes on a child's command line. For an http:// server the agent speaks
# HTTP itself through nc (OpenBSD's, else busybox's): the request, token included, is written by
# the shell to nc's stdin through a FIFO, and nc is the only child while it runs (~1.5 MB, where
# curl alone is ~10 MB). Otherwise, and for https://: curl reads the token from a config on stdin
# (-K -); GNU wget from a 0600 wgetrc (--config); busybox wget can take it only as an argument.

ua="nodepulse-agent-sh/$NODEPULSE_AGENT_VERSION"
cr=$(printf '\r')
fifo_f=$spool_dir/.nc.fifo
http_client=${NODEPULSE_HTTP_CLIENT-}
nc_cmd=

# Sets nc_cmd and http_client (openbsd-nc, busybox-nc) when an nc this agent can drive is here.
find_nc() {
	nc_cmd=
	if command -v nc >/dev/null 2>&1; then
		case $(nc -h 2>&1) in
		*OpenBSD*) nc_cmd=nc http_client=openbsd-nc ;;
		*BusyBox*) nc_cmd=nc http_client=busybox-nc ;;
		esac
	fi
	if [ -z "$nc_cmd" ] && command -v busybox >/dev/null 2>&1; then
		case $(busybox nc -h 2>&1) in *"Usage: nc"*) nc_cmd='busybox nc' http_client=busybox-nc ;; esac
	fi
	# The FIFO is made once and lives in the spool dir (0700); no byte of a request is ever stored in it.
	[ -n "$nc_cmd" ] && command -v mkfifo >/dev/null 2>&1 && rm -f "$fifo_f" && mkfifo -m 0600 "$fifo_f" 2>/dev/null || nc_cmd=
	[ -n "$nc_cmd" ]
}

if [ -z "$http_client" ]; then
	case $server in http://*) find_nc ;; esac
	if [ -n "$nc_cmd" ]; then :
	elif command -v curl >/dev/null 2>&1; then http_client=curl
	elif command -v wget >/dev/null 2>&1; then http_client=wget
	else die 1 "neither curl nor wget is installed: install one (apt-get install curl), or nc (netcat-openbsd) for an http:// server"
	fi
fi
case $http_client in
nc)
	case $server in http://*) ;; *) die 1 "NODEPULSE_HTTP_CLIENT=nc speaks plain http:// only: use curl or wget for $server" ;; esac
	find_nc || die 1 "NODEPULSE_HTTP_CLIENT=nc but no OpenBSD or busybox nc (and mkfifo) is installed"
	;;
# What find_nc picked (a value given by the user must be nc).
openbsd-nc | busybox-nc) [ -n "$nc_cmd" ] || die 1 "NODEPULSE_HTTP_CLIENT must be nc, curl or wget, not '$http_client'" ;;
curl) command -v curl >/dev/null 2>&1 || die 1 "NODEPULSE_HTTP_CLIENT=curl but curl is not installed" ;;
wget)
	command -v wget >/dev/null 2>&1 || die 1 "NODEPULSE_HTTP_CLIENT=wget but wget is not installed"
	case $(wget --version 2>&1) in
	*"GNU Wget"*)
		http_client=gnu-wget
		printf 'header = Authorization: Bearer %s\n' "$token" >"$wgetrc_f" || die 1 "cannot write $wgetrc_f"
		;;
	*)
		http_client=busybox-wget
		log "warning: only busybox wget is here; it takes the token on its command line, where ps shows it while a request runs: install curl to avoid that"
		;;
	esac
	;;
*) die 1 "NODEPULSE_HTTP_CLIENT must be nc, curl or wget, not '$http_client'" ;;
esac

# The http:// URL $1 as url_host, url_port, url_authority (host[:port], for the Host header) and url_path.
split_url() {
	url_path=${1#http://}
	url_authority=${url_path%%/*}
	case $url_path in */*) url_path=/${url_path#*/} ;; *) url_path=/ ;; esac
	case $url_authority in
	\[*\]:*) url_host=${url_authority%%]*} url_port=${url_authority##*]:} ;;
	\[*\]) url_host=${url_authority%]} url_port=80 ;;
	*:*) url_host=${url_authority%:*} url_port=${url_authority##*:} ;;
	*) url_host=$url_authority url_port=80 ;;
	esac
	url_host=${url_host#[}
	is_uint "$url_port" && [ -n "$url_host" ]
}

nl='
'
# POSTs the file $2 to the http:// URL $1 through nc; the raw answer goes to $resp_f. HTTP/1.0, so
# the answer is never chunked and the server closes the connection after it: nc ends then.
nc_post() {
	split_url "$1" || { http_error="cannot send to $1 with nc"; return; }
	body= line=
	while IFS= read -r line; do body=$body$line$nl; done <"$2"
	body=$body$line
	# nc must not see the end of its stdin before the answer: busybox nc would then half-close the
	# connection, and a Node.js server drops a request whose client half-closed. So the shell keeps
	# the FIFO open until nc ends; OpenBSD nc (without -N) does not half-close, and its -w ends an
	# idle connection; busybox nc's -w covers only the connect, so a timer bounds the whole request.
	$nc_cmd -w 10 "$url_host" "$url_port" <"$fifo_f" >"$resp_f" 2>"$err_f" &
	req_pid=$!
	exec 3>"$fifo_f"
	trap '' PIPE
	printf 'POST %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
		"$url_path" "$url_authority" "$ua" "$token" "${#body}" "$body" >&3
	trap - PIPE
	body=
	if [ "$http_client" = openbsd-nc ]; then
		exec 3>&-
		wait "$req_pid"
	else
		sleep 15 &
		watchdog_pid=$!
		# A trapped SIGCHLD makes `wait` return when either child ends.
		trap : CHLD
		while wait "$req_pid"; kill -0 "$req_pid" 2>/dev/null; do
			kill -0 "$watchdog_pid" 2>/dev/null && continue
			kill "$req_pid" 2>/dev/null
			http_error="no answer in 15 s"
		done
		trap - CHLD
		kill "$watchdog_pid" 2>/dev/null
		watchdog_pid=
		exec 3>&-
	fi
	req_pid=
	[ -s "$resp_f" ] || { [ -s "$err_f" ] && read -r http_error <"$err_f"; return; }
	# The status line and headers go to $hdr_f (as curl -D writes them), the body's first line to nc_body.
	{
		while IFS= read -r line; do
			line=${line%"$cr"}
			[ -n "$line" ] || break
			printf '%s\n' "$line" >&4
		done
		IFS= read -r nc_body
	} <"$resp_f" 4>"$hdr_f"
}

# POSTs the file $2 to $1. Sets http_status (000: no answer), http_date, http_retry (seconds,
# empty if none), http_body (first line of the answer) and http_error (why there was no answer).
http_post() {
	http_date= http_retry= http_body= http_error= http_status=000
	rm -f "$resp_f" "$hdr_f"
	case $http_client in
	openbsd-nc | busybox-nc) nc_post "$@" ;;
	curl)
		http_status=$(curl -sS -o "$resp_f" -D "$hdr_f" -w '%{http_code}' --connect-timeout 5 --max-time 15 \
			-H 'Content-Type: application/json' -H 'Expect:' -A "$ua" --data-binary "@$2" -K - "$1" 2>"$err_f" <<EOF
header = "Authorization: Bearer $token"
EOF
)
		rc=$?
		[ "$rc" = 0 ] || { read -r http_error <"$err_f"; http_error=${http_error:-curl exit $rc}; }
		;;
	gnu-wget)
		wget -q -S -O "$resp_f" --content-on-error --tries=1 --timeout=10 --config="$wgetrc_f" \
			--header='Content-Type: application/json' -U "$ua" --post-file="$2" "$1" 2>"$hdr_f"
		rc=$?
		case $rc in 0 | 8) ;; 4) http_error="network failure (wget exit 4)" ;; 5) http_error="TLS failure (wget exit 5)" ;; *) http_error="wget exit $rc" ;; esac
		;;
	busybox-wget)
		# No timeout option in every busybox build: a watchdog ends a hung request.
		wget -q -S -O "$resp_f" --header 'Content-Type: application/json' --header "Authorization: Bearer $token" \
			-U "$ua" --post-file "$2" "$1" 2>"$hdr_f" &
		req_pid=$!
		(sleep 15 && kill "$req_pid") >/dev/null 2>&1 &
		watchdog_pid=$!
		wait "$req_pid"
		rc=$?
		kill "$watchdog_pid" 2>/dev/null
		watchdog_pid=
		[ "$rc" = 0 ] || http_error="wget exit $rc"
		;;
	esac
	if [ -f "$hdr_f" ]; then
		while IFS= read -r line; do
			line=${line%"$cr"}
			line=${line#"${line%%[! ]*}"}
			case $line in
			HTTP/*)
				http_status=${line#* }
				http_status=${http_status%% *}
				http_date= http_retry=
				;;
			[Dd][Aa][Tt][Ee]:*) http_date=${line#*:} ;;
			[Rr][Ee][Tt][Rr][Yy]-[Aa][Ff][Tt][Ee][Rr]:*)
				http_retry=${line#*:}
				http_retry=${http_retry# }
				is_uint "$http_retry" || http_retry=
				;;
			esac
		done <"$hdr_f"
	fi
	is_uint "$http_status" || http_status=000
	[ "$http_status" != 000 ] || http_error=${http_error:-no answer}
	case $http_client in
	*-nc) http_body=$nc_body nc_body= ;;
	*) if [ -s "$resp_f" ]; then IFS= read -r http_body <"$resp_f"; fi ;;
	esac
	check_clock
}

# The value of the JSON field $1 in the answer (a number, or the text of a string), in REPLY.
answer_field() {
	REPLY=
	case $http_body in *"\"$1\":"*) ;; *) return 1 ;; esac
	REPLY=${http_body#*\"$1\":}
	case $REPLY in
	\"*) REPLY=${REPLY#\"}; REPLY=${REPLY%%\"*} ;;
	*) REPLY=${REPLY%%[!0-9.]*} ;;
	esac
}

# Days since 1970-01-01 of the civil date y m d (Howard Hinnant's algorithm, integers only).
days_from_civil() {
	y=$1 m=$2 d=$3
	[ "$m" -le 2 ] && y=$((y - 1))
	era=$((y / 400)) yoe=$((y - y / 400 * 400))
	mp=$(((m + 9) % 12))
	doy=$((153 * mp + 2))
	doy=$((doy / 5 + d - 1))
	REPLY=$((era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468))
}

skew_told=0
# Says once when the server's Date is more than the server accepts away from this host's clock.
check_clock() {
	[ "$skew_told" = 0 ] && [ -n "$http_date" ] && [ -n "$sample_s" ] || return 0
	set -- $http_date
	[ $# -ge 5 ] || return 0
	case $3 in Jan) m=1 ;; Feb) m=2 ;; Mar) m=3 ;; Apr) m=4 ;; May) m=5 ;; Jun) m=6 ;; Jul) m=7 ;; Aug) m=8 ;; Sep) m=9 ;; Oct) m=10 ;; Nov) m=11 ;; Dec) m=12 ;; *) return 0 ;; esac
	d=${2#0} t=$5
	h=${t%%:*} t=${t#*:}
	mi=${t%%:*} s=${t#*:}
	h=${h#0} mi=${mi#0} s=${s#0}
	is_uint "$4" && is_uint "$d" && is_uint "${h:-0}" && is_uint "${mi:-0}" && is_uint "${s:-0}" || return 0
	days_from_civil "$4" "$m" "$d"
	server_s=$((REPLY * 86400 + ${h:-0} * 3600 + ${mi:-0} * 60 + ${s:-0}))
	off=$((sample_s - server_s))
	# The sample was taken just before the request: allow for the request's own time.
	if [ "$off" -gt "$MAX_SKEW" ] || [ "$off" -lt $((-MAX_SKEW - 20)) ]; then
		skew_told=1
		if [ "$off" -gt 0 ]; then
			log "clock skew: this host's clock is $off s ahead of the server's; the server refuses samples more than 5 minutes in its future: fix the time (NTP)"
		else
			log "clock skew: this host's clock is $((-off)) s behind the server's: samples carry times that are off; fix the time (NTP)"
		fi
	fi
}

# ---------------------------------------------------------------------------------------------
# Sampling: builtins only, except date and df (one each per sample).

now_cs() {
	read -r up _ </proc/uptime
	REPLY=${up%.*}${up#*.}
	REPLY=${REPLY#"${REPLY%%[!0]*}"}
	REPLY=${REPLY:-0}
}

# $1 of $2 as a percent with one decimal, in REPLY.
pct() {
	if [ "$2" -le 0 ]; then REPLY=0; return; fi
	v=$((($1 * 1000 + $2 / 2) / $2))
	[ "$v" -lt 0 ] && v=0
	[ "$v" -gt 1000 ] && v=1000
	REPLY=$((v / 10)).$((v % 10))
}

# The per-second rate of a counter that went from $2 to $1 in $3 centiseconds, times $4 (default 1),
# in REPLY; null when it cannot be known. A counter below 2^32 that went back wrapped (a 32-bit
# counter): it is counted on past the wrap. One that went back from higher was reset: null.
rate() {
	rd=$(($1 - $2))
	if [ "$rd" -lt 0 ]; then
		if [ "$2" -lt 4294967296 ]; then rd=$(($1 + 4294967296 - $2)); else REPLY=null; return; fi
	fi
	if [ "$3" -le 0 ]; then REPLY=null; return; fi
	REPLY=$((rd * ${4:-1} * 100 / $3))
}

# $1 as a JSON string, in REPLY: quotes and backslashes escaped, control characters dropped.
json_str() {
	case $1 in
	*[\"\\[:cntrl:]]*)
		s=$1 REPLY=
		while [ -n "$s" ]; do
			c=${s%"${s#?}"}
			s=${s#?}
			case $c in
			\" | \\) REPLY=$REPLY\\$c ;;
			[[:cntrl:]]) ;;
			*) REPLY=$REPLY$c ;;
			esac
		done
		REPLY=\"$REPLY\"
		;;
	*) REPLY=\"$1\" ;;
	esac
}

date_ns=0
case $(date +%s%N 2>/dev/null) in *[!0-9]* | '') ;; ?????????????????*) date_ns=1 ;; esac
frac_sleep=0
if sleep 0.01 2>/dev/null; then frac_sleep=1; fi
last_ms=0

# The wall clock in unix milliseconds, in REPLY; never the same twice in one run.
wall_ms() {
	if [ "$date_ns" = 1 ]; then
		REPLY=$(date +%s%N)
		REPLY=${REPLY%??????}
	else
		REPLY=$(($(date +%s) * 1000))
	fi
	[ "$REPLY" -le "$last_ms" ] && REPLY=$((last_ms + 1))
	last_ms=$REPLY
}

read_os() {
	distro= release=
	if [ -r /etc/os-release ]; then
		while IFS='=' read -r k v; do
			v=${v#\"}
			v=${v%\"}
			case $k in PRETTY_NAME) distro=$v ;; VERSION_ID) release=$v ;; esac
		done </etc/os-release
	fi
	kernel= host=
	[ -r /proc/sys/kernel/osrelease ] && read -r kernel </proc/sys/kernel/osrelease
	[ -r /proc/sys/kernel/hostname ] && read -r host </proc/sys/kernel/hostname
	arch=$(uname -m 2>/dev/null)
	os_json='{"platform":"linux"'
	for kv in "distro:$distro" "release:$release" "kernel:$kernel" "arch:${arch:-unknown}" "hostname:$host"; do
		k=${kv%%:*} v=${kv#*:}
		[ -n "$v" ] || continue
		json_str "$v"
		os_json="$os_json,\"$k\":$REPLY"
	done
	os_json="$os_json}"
}

cpu_b= cpu_t=
# cpu_percent and cpu_cores_json from /proc/stat since the previous call.
read_cpu() {
	cpu_percent=0 cpu_cores_json= i=0
	while read -r name u n s idle iow irq sirq st _; do
		busy=$((u + n + s + ${irq:-0} + ${sirq:-0} + ${st:-0}))
		tot=$((busy + idle + ${iow:-0}))
		case $name in
		cpu)
			[ -n "$cpu_b" ] && { pct $((busy - cpu_b)) $((tot - cpu_t)); cpu_percent=$REPLY; }
			cpu_b=$busy cpu_t=$tot
			;;
		cpu[0-9]*)
			eval "ob=\${cb_$i-} ot=\${ct_$i-}"
			if [ -n "$ob" ]; then pct $((busy - ob)) $((tot - ot)); else REPLY=0; fi
			cpu_cores_json=$cpu_cores_json${cpu_cores_json:+,}$REPLY
			eval "cb_$i=$busy ct_$i=$tot"
			i=$((i + 1))
			[ "$i" -ge 1024 ] && break
			;;
		*) break ;;
		esac
	done </proc/stat
}

read_mem() {
	mt= ma= mf= mb= mc= st= sf=
	while read -r k v _; do
		case $k in
		MemTotal:) mt=$v ;; MemFree:) mf=$v ;; MemAvailable:) ma=$v ;; Buffers:) mb=$v ;; Cached:) mc=$v ;;
		SwapTotal:) st=$v ;; SwapFree:) sf=$v; break ;;
		esac
	done </proc/meminfo
	[ -n "$ma" ] || ma=$((${mf:-0} + ${mb:-0} + ${mc:-0}))
	mt=${mt:-0} st=${st:-0} sf=${sf:-0}
	[ "$ma" -gt "$mt" ] && ma=$mt
	pct $((mt - ma)) "$mt"
	memory_percent=$REPLY
	memory_json="{\"total_bytes\":$((mt * 1024)),\"used_bytes\":$(((mt - ma) * 1024)),\"available_bytes\":$((ma * 1024)),\"swap_total_bytes\":$((st * 1024)),\"swap_used_bytes\":$(((st - sf) * 1024))}"
}

io_prev= io_cs=
# disk_io_json: bytes/s read and written by whole physical disks (those with a device in /sys/block),
# each disk's sector counters followed on their own (so one wrapping is told from one reset);
# null for the first sample and when a counter went back in a way no rate can be had from.
read_disk_io() {
	rsum=0 wsum=0 new= known=1
	while read -r _ _ dev _ _ rs _ _ _ ws _; do
		[ -e "/sys/block/$dev/device" ] || continue
		new="$new $dev:$rs:$ws"
		case $io_prev in
		*" $dev:"*)
			p=${io_prev#*" $dev:"}
			prs=${p%%:*} p=${p#*:}
			pws=${p%% *}
			rate "$rs" "$prs" $((now - io_cs)) 512
			[ "$REPLY" = null ] && known=0 || rsum=$((rsum + REPLY))
			rate "$ws" "$pws" $((now - io_cs)) 512
			[ "$REPLY" = null ] && known=0 || wsum=$((wsum + REPLY))
			;;
		esac
	done </proc/diskstats
	if [ -n "$io_cs" ] && [ "$known" = 1 ]; then
		disk_io_json="{\"read_bytes_per_sec\":$rsum,\"write_bytes_per_sec\":$wsum}"
	else
		disk_io_json=null
	fi
	io_prev="$new " io_cs=$now
}

net_prev= net_cs= net_all=0
[ -n "$(for d in /sys/class/net/*/device; do [ -e "$d" ] && echo y && break; done)" ] || net_all=1
# network_json: physical interfaces (with a device; every one but lo where none has one, as in a container).
read_net() {
	network_json= new= k=0
	for d in /sys/class/net/*; do
		ifn=${d##*/}
		if [ "$net_all" = 1 ]; then [ "$ifn" != lo ] || continue; else [ -e "$d/device" ] || continue; fi
		[ -r "$d/statistics/rx_bytes" ] && read -r rx <"$d/statistics/rx_bytes" && read -r tx <"$d/statistics/tx_bytes" || continue
		rr=null tr=null
		case $net_prev in
		*" $ifn:"*)
			p=${net_prev#*" $ifn:"}
			prx=${p%%:*} p=${p#*:}
			ptx=${p%% *}
			rate "$rx" "$prx" $((now - net_cs))
			rr=$REPLY
			rate "$tx" "$ptx" $((now - net_cs))
			tr=$REPLY
			;;
		esac
		new="$new $ifn:$rx:$tx"
		json_str "$ifn"
		network_json="$network_json${network_json:+,}{\"iface\":$REPLY,\"rx_bytes_per_sec\":$rr,\"tx_bytes_per_sec\":$tr,\"rx_bytes\":$rx,\"tx_bytes\":$tx}"
		k=$((k + 1))
		[ "$k" -ge 32 ] && break
	done
	net_prev="$new " net_cs=$now
}

# temps_json: hwmon sensors in °C, where the host has any.
read_temps() {
	temps_json= k=0
	for t in /sys/class/hwmon/hwmon*/temp*_input; do
		[ -r "$t" ] && read -r mc <"$t" || continue
		case $mc in '' | *[!0-9-]*) continue ;; esac
		base=${t%_input} dir=${t%/*} lbl= hw=
		[ -r "${base}_label" ] && read -r lbl <"${base}_label"
		[ -r "$dir/name" ] && read -r hw <"$dir/name"
		json_str "${hw:-${dir##*/}} ${lbl:-${base##*/}}"
		sign=
		case $mc in -*) sign=- mc=${mc#-} ;; esac
		c=$((mc / 1000)).$((mc % 1000 / 100))
		[ "$mc" -gt 1000000 ] && continue
		temps_json="$temps_json${temps_json:+,}{\"label\":$REPLY,\"celsius\":$sign$c}"
		k=$((k + 1))
		[ "$k" -ge 64 ] && break
	done
}

count_processes() {
	processes=0
	for p in /proc/[0-9]*; do processes=$((processes + 1)); done
}

# disks_json (real filesystems, largest first, at most 8), disk_json and disk_percent (the one holding /).
# df is asked about those mounts only, so a hung network mount never blocks it.
read_disks() {
	mounts= types=' ' devs=' '
	while read -r dev mnt typ _; do
		case $mnt in *\\*) continue ;; esac
		case $typ in
		ext2 | ext3 | ext4 | xfs | btrfs | zfs | f2fs | jfs | reiserfs | bcachefs | vfat | exfat | ntfs | ntfs3 | fuseblk | hfsplus | nilfs2 | ufs) ;;
		*) [ "$mnt" = / ] || continue ;;
		esac
		case $devs in *" $dev "*) [ "$mnt" = / ] || continue ;; esac
		devs="$devs$dev " types="$types$mnt|$typ " mounts="$mounts $mnt"
	done </proc/mounts
	disks_json= disk_json=null disk_percent=0
	[ -n "$mounts" ] || return 0
	# shellcheck disable=SC2086 # mount points hold no blanks (those were skipped above)
	dfout=$(df -P -k $mounts 2>/dev/null)
	list= n=0
	while read -r fs blocks used avail _ mnt; do
		is_uint "$blocks" && is_uint "$used" && is_uint "$avail" || continue
		[ "$blocks" -gt 0 ] || continue
		case $list in *"|$mnt|"*) continue ;; esac
		typ=${types#*" $mnt|"}
		[ "$typ" = "$types" ] && typ= || typ=${typ%% *}
		pct "$used" $((used + avail))
		p=$REPLY
		json_str "$mnt"
		jm=$REPLY
		json_str "$fs"
		jf=$REPLY
		j="\"mount\":$jm,\"fs\":$jf,\"size_bytes\":$((blocks * 1024)),\"used_bytes\":$((used * 1024)),\"percent\":$p"
		[ "$mnt" = / ] && { disk_json="{$j}"; disk_percent=$p; }
		[ -n "$typ" ] && { json_str "$typ"; j="$j,\"type\":$REPLY"; }
		n=$((n + 1))
		list="$list$blocks|$mnt|{$j}
"
	done <<EOF
$dfout
EOF
	# The largest 8, by picking the largest left each round (a handful of filesystems).
	picked=' ' k=0
	while [ "$k" -lt 8 ] && [ "$k" -lt "$n" ]; do
		best= bsize=-1 i=0
		while IFS= read -r line; do
			[ -n "$line" ] || continue
			i=$((i + 1))
			case $picked in *" $i "*) continue ;; esac
			size=${line%%|*}
			[ "$size" -gt "$bsize" ] && { bsize=$size best=$i bline=$line; }
		done <<EOF
$list
EOF
		[ -n "$best" ] || break
		picked="$picked$best "
		disks_json="$disks_json${disks_json:+,}${bline#*|*|}"
		k=$((k + 1))
	done
}

# sample_json: one sample as the contract's statsSample, taken now.
take_sample() {
	now_cs
	now=$REPLY
	wall_ms
	sample_ms=$REPLY sample_s=$((REPLY / 1000))
	read_cpu
	read_mem
	read_disks
	read_disk_io
	read_net
	read_temps
	count_processes
	read -r l1 l5 l15 _ </proc/loadavg
	read -r up _ </proc/uptime
	sample_json="{\"cpu_percent\":$cpu_percent,\"memory_percent\":$memory_percent,\"disk_percent\":$disk_percent,\"uptime_seconds\":${up%.*},\"timestamp\":$sample_ms,\"detail\":{\"load\":{\"1m\":$l1,\"5m\":$l5,\"15m\":$l15},\"cpu_cores\":[$cpu_cores_json],\"memory\":$memory_json,\"disk\":$disk_json,\"disks\":[$disks_json],\"disk_io\":$disk_io_json,\"network\":[$network_json],\"temperatures\":[$temps_json],\"processes\":$processes,\"os\":$os_json}}"
}

# ---------------------------------------------------------------------------------------------
# The spool.

spool_count=0
open_f= open_n=0 open_b=0
dropped=0
spool_full=0
[ -r "$dropped_f" ] && read -r dropped <"$dropped_f"
is_uint "$dropped" || dropped=0
# Samples in a spool file are joined into one batch: stay under the server's limits per request.
seg_max_b=$((MAX_BATCH_BYTES - 64))

count_spool() {
	set -- "$spool_dir"/[0-9]*.jsonl
	if [ -f "$1" ]; then
		spool_count=$(cat -- "$@" | wc -l)
		spool_count=$((spool_count + 0))
	else
		spool_count=0
	fi
}

# spool_seq: the highest number a spool file has (set-aside ones included), so the next file's
# name is one past it: never a name in use, and always after every file already there.
highest_spool_seq() {
	spool_seq=0
	for f in "$spool_dir"/[0-9]*; do
		n=${f##*/}
		n=${n%%.*}
		is_uint "$n" && [ "${#n}" -le 18 ] || continue
		n=${n#"${n%%[!0]*}"}
		[ "${n:-0}" -gt "$spool_seq" ] && spool_seq=$n
	done
}

# The name of a new spool file in REPLY: the next number, 13 digits (as the first sample's unix ms
# named files before, so those still sort in order), and never a file that is there.
new_spool_file() {
	while :; do
		spool_seq=$((spool_seq + 1))
		REPLY=0000000000000$spool_seq
		[ "${#spool_seq}" -ge 13 ] && REPLY=$spool_seq || REPLY=${REPLY#"${REPLY%?????????????}"}
		[ -e "$spool_dir/$REPLY.jsonl" ] || [ -e "$spool_dir/$REPLY.corrupt" ] || [ -e "$spool_dir/$REPLY.rejected" ] || break
	done
	REPLY=$spool_dir/$REPLY.jsonl
}

oldest_spool_file() {
	REPLY=
	for f in "$spool_dir"/[0-9]*.jsonl; do
		[ -f "$f" ] && REPLY=$f
		break
	done
}

save_dropped() {
	if [ "$dropped" -gt 0 ]; then
		printf '%s\n' "$dropped" >"$dropped_f.tmp" && mv -f "$dropped_f.tmp" "$dropped_f"
	else
		rm -f "$dropped_f"
	fi
}

# Drops at least the $1 oldest samples: whole oldest files (a sealed one goes whole when that keeps
# 90 % of the bound, so a long outage rewrites nothing), else the first lines of one.
drop_oldest() {
	want=$1
	while [ "$want" -gt 0 ]; do
		oldest_spool_file
		[ -n "$REPLY" ] || { spool_count=0; break; }
		f=$REPLY
		n=$(wc -l <"$f")
		n=$((n + 0))
		if [ "$n" -le "$want" ] || { [ "$f" != "$open_f" ] && [ $((n - want)) -le $((spool_max / 10)) ]; }; then
			rm -f "$f"
			[ "$f" = "$open_f" ] && open_f=
			[ "$n" -gt "$want" ] && want=$n
		else
			n=$want
			sed "1,${n}d" "$f" >"$tmp_f" && mv -f "$tmp_f" "$f"
			[ "$f" = "$open_f" ] && open_n=$((open_n - n))
		fi
		want=$((want - n)) spool_count=$((spool_count - n)) dropped=$((dropped + n))
	done
	save_dropped
	if [ "$spool_full" = 0 ]; then
		spool_full=1
		log "spool full ($spool_max samples): dropping the oldest; the count is reported to the server when it is back"
	fi
}

# Keeps one sample ($1) in the spool: appended to the newest segment while it stays one valid batch.
# The kernel writes it back within its dirty-page delay (~30 s); a crash may lose those seconds or
# tear the last line, which the next read sets aside.
spool_add() {
	[ $((spool_count + 1)) -gt "$spool_max" ] && drop_oldest $((spool_count + 1 - spool_max))
	len=$((${#1} + 1))
	if [ -z "$open_f" ] || [ ! -f "$open_f" ] || [ "$open_n" -ge "$MAX_BATCH_SAMPLES" ] || [ $((open_b + len)) -gt "$seg_max_b" ]; then
		new_spool_file
		open_f=$REPLY open_n=0 open_b=0
	fi
	printf '%s\n' "$1" >>"$open_f" || { log "could not write the spool in $spool_dir"; open_f=; return 1; }
	open_n=$((open_n + 1)) open_b=$((open_b + len))
	spool_count=$((spool_count + 1))
}

# At start: samples go on in the newest segment (the Node agent's or this one's) while it ends in a
# whole line, has room and no file is numbered after it.
open_newest_segment() {
	f=
	for g in "$spool_dir"/[0-9]*.jsonl; do [ -f "$g" ] && f=$g; done
	[ -n "$f" ] && [ -s "$f" ] && [ -z "$(tail -c 1 "$f")" ] || return 0
	n=${f##*/}
	n=${n%.jsonl}
	n=${n#"${n%%[!0]*}"}
	[ "${n:-0}" = "$spool_seq" ] || return 0
	n=$(wc -l <"$f") b=$(wc -c <"$f")
	n=$((n + 0)) b=$((b + 0))
	if [ "$n" -lt "$MAX_BATCH_SAMPLES" ] && [ "$b" -lt "$seg_max_b" ]; then open_f=$f open_n=$n open_b=$b; fi
}

# ---------------------------------------------------------------------------------------------
# Sending, and the one log line per state change.

state=starting
hold_until=0
# While the server refuses the token or the node (401, 403, 404) a long run keeps sampling into the
# spool and asks again after 1 min, then twice as long each time, at most every 10 min.
# NODEPULSE_RECHECK_BACKOFF="FIRST MAX" (seconds) shortens that for tests.
recheck_first=60 recheck_max=600
case ${NODEPULSE_RECHECK_BACKOFF-} in
*[0-9]' '*[0-9]*) recheck_first=${NODEPULSE_RECHECK_BACKOFF%% *} recheck_max=${NODEPULSE_RECHECK_BACKOFF##* } ;;
esac
is_uint "$recheck_first" && is_uint "$recheck_max" || recheck_first=60 recheck_max=600
recheck_wait=0
stats_url=$server/api/v1/nodes/$node_id/stats

# Classifies the last answer into $result: ok, refused (the body: never retried), auth, unknown, retry.
classify() {
	case $http_status in
	200 | 201) result=ok ;;
	401 | 403) result=auth ;;
	404) result=unknown ;;
	408 | 425 | 429 | 000 | 5??) result=retry ;;
	4??) result=refused ;;
	*) result=retry ;;
	esac
	if [ "$result" = retry ] && is_uint "$http_retry"; then
		[ "$http_retry" -gt 3600 ] && http_retry=3600
		now_cs
		hold_until=$((REPLY + http_retry * 100))
	fi
}

# Logs a line when the agent's state changes to $1 (a word), with the message $2.
set_state() {
	[ "$1" = "$state" ] && return 0
	state=$1
	log "$2"
}

report_problem() {
	answer_field message
	msg=${REPLY:+ ($REPLY)}
	if [ "$once" = 1 ]; then kept="the sample is kept in the spool"
	else kept="samples are kept in the spool (at most $spool_max) and the server is asked again in $(secs "$recheck_first"), then at most every $(secs "$recheck_max")"
	fi
	case $result in
	auth)
		if [ "$http_status" = 401 ]; then
			set_state auth401 "the server refused the token (401): it is wrong or was revoked$msg; put the node's current token (Nodes page) in NODEPULSE_TOKEN, --token-file or $ENV_PATH; $kept"
		else
			set_state auth403 "the token belongs to another node (403)$msg: check --node-id $node_id against the token (Nodes page); $kept"
		fi
		;;
	unknown) set_state unknown "node $node_id does not exist on the server (404)$msg: check --node-id, or add the node on the Nodes page; $kept" ;;
	retry)
		case $http_status in
		000) set_state unreachable "server unreachable ($http_error): spooling samples in $spool_dir" ;;
		429 | 503) set_state busy "server busy ($http_status${http_retry:+, retry after ${http_retry} s}): spooling samples in $spool_dir" ;;
		*) set_state "error$http_status" "server error $http_status$msg: spooling samples in $spool_dir" ;;
		esac
		;;
	esac
}

# "1 min", "90 s": seconds $1 as said in a log line.
secs() {
	if [ $(($1 % 60)) = 0 ] && [ "$1" -gt 0 ]; then printf '%s min' $(($1 / 60)); else printf '%s s' "$1"; fi
}

# After a 401, 403 or 404 in a long run: no request until the next re-check, each further apart.
hold_recheck() {
	[ "$once" = 1 ] && return 0
	if [ "$recheck_wait" = 0 ]; then recheck_wait=$recheck_first
	else
		recheck_wait=$((recheck_wait * 2))
		[ "$recheck_wait" -gt "$recheck_max" ] && recheck_wait=$recheck_max
	fi
	now_cs
	hold_until=$((REPLY + recheck_wait * 100))
	debug "asking the server again in $recheck_wait s"
}

went_ok() {
	recheck_wait=0
	if [ "$state" != ok ]; then
		if [ "$state" = starting ]; then
			set_state ok "sending to $server as node $node_id"
		elif [ "$state" = auth401 ] || [ "$state" = auth403 ] || [ "$state" = unknown ]; then
			set_state ok "the server accepted the token for node $node_id again: sending $spool_count spooled samples"
		else
			set_state ok "server back: sending $spool_count spooled samples"
		fi
		spool_full=0
	fi
}

# Reports the samples dropped from a full spool as one error_report event, then forgets them.
report_dropped() {
	[ "$dropped" -gt 0 ] || return 0
	printf '{"event_type":"error_report","message":"The agent'"'"'s spool was full: %s samples were dropped, oldest first, while the server was unreachable","data":{"dropped_samples":%s,"spool_max":%s,"agent":"%s"}}' \
		"$dropped" "$dropped" "$spool_max" "$ua" >"$body_f"
	http_post "$server/api/v1/nodes/$node_id/events" "$body_f"
	case $http_status in
	200 | 201)
		log "reported $dropped dropped samples to the server"
		dropped=0
		save_dropped
		;;
	*)
		classify
		report_problem
		return 1
		;;
	esac
}

# Sends spooled samples oldest first, one file (one batch) at a time, until the spool is empty or
# the centisecond uptime $1 is reached, so the next live sample never waits more than one interval.
drain() {
	report_dropped || return 1
	had=$spool_count
	while :; do
		oldest_spool_file
		[ -n "$REPLY" ] || break
		f=$REPLY
		now_cs
		[ "$REPLY" -lt "$1" ] || return 0
		[ "$f" = "$open_f" ] && open_f=
		# A damaged segment (a crash cut its last line short, or bytes went bad): keep its whole
		# sample lines, move the rest aside. A last line without its newline is a torn one.
		torn=0
		[ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ] && torn=1
		# sed, not grep: grep takes a file with a NUL byte for binary and prints no lines of it.
		if [ "$torn" = 1 ]; then
			{ sed '$d' "$f" | sed -n '/^{".*}$/!p'; tail -n 1 "$f"; echo; } >"$bad_f"
		else
			sed -n '/^{".*}$/!p' "$f" >"$bad_f"
		fi
		bad=$(wc -l <"$bad_f")
		if [ "$((bad + 0))" -gt 0 ]; then
			aside=${f%.jsonl}.corrupt
			if [ "$torn" = 1 ]; then sed '$d' "$f" | sed -n '/^{".*}$/p' >"$tmp_f"; else sed -n '/^{".*}$/p' "$f" >"$tmp_f"; fi
			cat "$bad_f" >>"$aside"
			if [ -s "$tmp_f" ]; then mv -f "$tmp_f" "$f"; else rm -f "$tmp_f" "$f"; fi
			rm -f "$bad_f"
			count_spool
			log "spool file ${f##*/} was damaged: $((bad + 0)) line(s) moved aside as ${aside##*/}, the rest kept"
			continue
		fi
		if [ ! -s "$f" ]; then rm -f "$f"; continue; fi
		sed -e '1s/^/{"samples":[/' -e '$!s/$/,/' -e '$s/$/]}/' "$f" >"$body_f"
		http_post "$stats_url" "$body_f"
		classify
		case $result in
		ok)
			answer_field accepted
			n=${REPLY:-0}
			rm -f "$f"
			spool_count=$((spool_count - n))
			answer_field stored
			s=$REPLY
			answer_field duplicates
			debug "batch ${f##*/} of $n samples sent: $s stored, $REPLY duplicates"
			;;
		refused)
			n=$(wc -l <"$f")
			aside=${f%.jsonl}.rejected
			mv -f "$f" "$aside"
			spool_count=$((spool_count - n))
			answer_field message
			log "the server refused spooled batch ${f##*/} ($http_status: $REPLY): moved aside as ${aside##*/}"
			;;
		*)
			report_problem
			return 1
			;;
		esac
	done
	spool_count=0
	[ "$had" -gt 0 ] && log "spool drained"
	return 0
}

# Samples, sends the sample (or spools it), then drains the backlog until $1. Sets $result.
tick() {
	take_sample
	[ "$samples_taken" -ge 0 ] && samples_taken=$((samples_taken + 1))
	now_cs
	if [ "$REPLY" -lt "$hold_until" ]; then
		spool_add "$sample_json" && debug "sample $sample_ms spooled"
		result=retry
		return
	fi
	printf '%s' "$sample_json" >"$body_f"
	http_post "$stats_url" "$body_f"
	classify
	case $result in
	ok)
		debug "sample $sample_ms sent"
		went_ok
		if [ "$spool_count" -gt 0 ] || [ "$dropped" -gt 0 ]; then
			drain "$1" || case $result in auth | unknown) hold_recheck ;; esac
		fi
		result=ok
		;;
	refused)
		answer_field message
		set_state "refused$http_status" "the server refused a sample ($http_status: $REPLY); it is not kept"
		debug "sample $sample_ms refused"
		;;
	*)
		report_problem
		spool_add "$sample_json" && debug "sample $sample_ms spooled"
		case $result in auth | unknown) hold_recheck ;; esac
		;;
	esac
}

# Waits $1 centiseconds, interruptibly (a signal ends the wait at once).
nap() {
	[ "$1" -gt 0 ] || return 0
	if [ "$frac_sleep" = 1 ]; then
		sleep "$(($1 / 100)).$(($1 / 10 % 10))$(($1 % 10))" &
	else
		sleep $((($1 + 99) / 100)) &
	fi
	sleep_pid=$!
	wait "$sleep_pid"
	sleep_pid=
}

# ---------------------------------------------------------------------------------------------

if [ "$action" = install ]; then service_action; fi
count_spool
highest_spool_seq
open_newest_segment
read_os
log "started: version $NODEPULSE_AGENT_VERSION, node $node_id, server $server, every $interval s, $http_client, spool $spool_dir ($spool_count samples, at most $spool_max)"
# A first reading, so the first sample's cpu and rates cover a second.
take_sample
nap 100

if [ "$once" = 1 ]; then
	now_cs
	tick $((REPLY + 3000))
	case $result in
	ok) exit 0 ;;
	auth) exit 2 ;;
	unknown) exit 3 ;;
	*) exit 1 ;;
	esac
fi

samples_taken=0
while :; do
	now_cs
	next=$((REPLY + interval * 100))
	tick "$next"
	now_cs
	nap $((next - REPLY))
done
