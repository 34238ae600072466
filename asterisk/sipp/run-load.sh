#!/usr/bin/env bash
# run-load.sh — hundreds of concurrent Tandem pairs against a real Asterisk, with SIPp.
#
#   1. registers the pair extensions (register.xml, digest auth, from --pairs-csv)
#      with the pair-extension UAS's address as their Contact;
#   2. starts that UAS (uas-pair-ext.xml), which answers leg B of every pair;
#   3. records what the callers hear (tcpdump on their media ports, if allowed);
#   4. runs the caller (uac-caller.xml) dialling 1000 at --rate calls/s, at most
#      --concurrency at once, --calls in total, each held --duration seconds;
#   5. samples Tandem's API (TANDEM_API_URL, TANDEM_API_TOKEN) during the run;
#   6. unregisters, stops everything, and writes summary.json next to SIPp's files.
# Every process is bounded (-timeout, a kill timer); the script stops by itself.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

usage() {
  cat <<'EOF'
Usage: run-load.sh --asterisk HOST:PORT --calls N --rate R --duration S [options]

Required:
  --asterisk HOST:PORT    Asterisk's PJSIP UDP transport (e.g. 127.0.0.1:5060)
  --calls N               total calls placed (SIPp -m)
  --rate R                new calls per second (SIPp -r)
  --duration S            seconds each call is held before the caller hangs up (SIPp -d)

Options:
  --pairs-csv FILE        SIPp injection CSV of the pair extensions to register
                          (SEQUENTIAL header, then EXT;PASSWORD lines; see pairs.csv.example)
  --no-register           do not register/unregister (extensions registered elsewhere,
                          or a smoke test with --asterisk pointing at a SIPp UAS)
  --concurrency L         max simultaneous calls (SIPp -l); default rate*duration*1.2+1
  --service EXT           number dialled (default 1000)
  --caller USER           caller's From user / digest username (default 7100)
  --caller-password-env V name of an environment variable holding the caller's digest
                          password (answered to a 401/407; default none)
  --local-ip IP           SIPp's SIP and media address (default 127.0.0.1)
  --caller-port P         caller SIP port (default 5070)
  --uas-port P            pair-extension UAS SIP port (default 5080)
  --register-port P       REGISTER client port (default 5085)
  --caller-media-port P   first caller RTP port (default 20000; call n uses P+4(n-1))
  --uas-media-port P      first UAS RTP port (default 30000)
  --timeout S             hard bound on the whole run (default: calls/rate + duration + 60)
  --out DIR               output directory (default ./sipp-load-<UTC timestamp>)
  --no-record             do not record what the callers hear
  --uas-mode speech|echo  pair extensions play speech (default) or echo what they hear
  --allow-remote          allow a non-loopback --asterisk / --local-ip
  -h, --help              this help

Environment:
  TANDEM_API_URL          Tandem's HTTP API (e.g. http://127.0.0.1:8088); sampled every 5 s
  TANDEM_API_TOKEN        its bearer token (sent through curl's stdin config, never argv)

Exit status: 0 when every call succeeded, 1 when some failed, 2 on bad usage,
3 when a prerequisite is missing, 4 when registration failed.
EOF
}

die() { echo "run-load: $1" >&2; exit "${2:-2}"; }

asterisk="" calls="" rate="" duration="" pairs_csv="" register=1 concurrency=""
service=1000 caller=7100 caller_password_env="" local_ip=127.0.0.1
caller_port=5070 uas_port=5080 register_port=5085 caller_mp=20000 uas_mp=30000
timeout_s="" out="" record=1 allow_remote=0 uas_mode=speech

need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --asterisk) need_value "$@"; asterisk="$2"; shift 2 ;;
    --calls) need_value "$@"; calls="$2"; shift 2 ;;
    --rate) need_value "$@"; rate="$2"; shift 2 ;;
    --duration) need_value "$@"; duration="$2"; shift 2 ;;
    --pairs-csv) need_value "$@"; pairs_csv="$2"; shift 2 ;;
    --no-register) register=0; shift ;;
    --concurrency) need_value "$@"; concurrency="$2"; shift 2 ;;
    --service) need_value "$@"; service="$2"; shift 2 ;;
    --caller) need_value "$@"; caller="$2"; shift 2 ;;
    --caller-password-env) need_value "$@"; caller_password_env="$2"; shift 2 ;;
    --local-ip) need_value "$@"; local_ip="$2"; shift 2 ;;
    --caller-port) need_value "$@"; caller_port="$2"; shift 2 ;;
    --uas-port) need_value "$@"; uas_port="$2"; shift 2 ;;
    --register-port) need_value "$@"; register_port="$2"; shift 2 ;;
    --caller-media-port) need_value "$@"; caller_mp="$2"; shift 2 ;;
    --uas-media-port) need_value "$@"; uas_mp="$2"; shift 2 ;;
    --timeout) need_value "$@"; timeout_s="$2"; shift 2 ;;
    --out) need_value "$@"; out="$2"; shift 2 ;;
    --no-record) record=0; shift ;;
    --uas-mode) need_value "$@"; uas_mode="$2"; shift 2 ;;
    --allow-remote) allow_remote=1; shift ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

# ---- validation ---------------------------------------------------------------
[[ -n "$asterisk" ]] || die "--asterisk HOST:PORT is required"
[[ -n "$calls" && -n "$rate" && -n "$duration" ]] || die "--calls, --rate and --duration are required"
is_uint() { [[ "$1" =~ ^[0-9]+$ ]] && (( 10#$1 > 0 )); }
is_port() { is_uint "$1" && (( 10#$1 <= 65535 )); }
is_uint "$calls" || die "--calls must be a positive integer"
[[ "$rate" =~ ^[0-9]+(\.[0-9]+)?$ ]] && [[ "$rate" != 0 && ! "$rate" =~ ^0+(\.0+)?$ ]] || die "--rate must be a positive number"
is_uint "$duration" || die "--duration must be a positive integer (seconds)"
[[ -z "$concurrency" ]] || is_uint "$concurrency" || die "--concurrency must be a positive integer"
[[ -z "$timeout_s" ]] || is_uint "$timeout_s" || die "--timeout must be a positive integer (seconds)"
for p in "$caller_port" "$uas_port" "$register_port" "$caller_mp" "$uas_mp"; do is_port "$p" || die "bad port '$p'"; done
[[ "$uas_mode" == speech || "$uas_mode" == echo ]] || die "--uas-mode must be speech or echo"
[[ "$service" =~ ^[0-9A-Za-z_.+*#-]+$ ]] || die "--service: unexpected characters"
[[ "$caller" =~ ^[0-9A-Za-z_.+-]+$ ]] || die "--caller: unexpected characters"

[[ "$asterisk" =~ ^([^:]+):([0-9]+)$ ]] || die "--asterisk wants HOST:PORT, got '$asterisk'"
ast_host="${BASH_REMATCH[1]}" ast_port="${BASH_REMATCH[2]}"
is_port "$ast_port" || die "--asterisk port out of range"
is_loopback() { [[ "$1" == localhost || "$1" =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; }
if (( ! allow_remote )); then
  is_loopback "$ast_host" || die "refusing non-loopback target '$ast_host' (pass --allow-remote to load a remote Asterisk)"
  is_loopback "$local_ip" || die "refusing non-loopback --local-ip '$local_ip' (pass --allow-remote)"
fi
[[ "$ast_host" == localhost ]] && ast_host=127.0.0.1

if (( register )); then
  [[ -n "$pairs_csv" ]] || die "--pairs-csv FILE is required unless --no-register"
  [[ -r "$pairs_csv" ]] || die "cannot read --pairs-csv '$pairs_csv'"
  pair_lines=$(grep -c -v -E '^(SEQUENTIAL|RANDOM|USER)[[:space:]]*$|^[[:space:]]*$|^#' "$pairs_csv" || true)
  (( pair_lines > 0 )) || die "--pairs-csv '$pairs_csv' has no EXT;PASSWORD lines"
fi

command -v sipp >/dev/null 2>&1 || die "sipp not found (apt-get install sip-tester)" 3
command -v node >/dev/null 2>&1 || die "node not found" 3

hold_ms=$(( duration * 1000 ))
# Enough room for every call at the rate, plus one hold, plus setup/teardown slack.
[[ -n "$concurrency" ]] || concurrency=$(awk -v r="$rate" -v d="$duration" 'BEGIN { printf "%d", r * d * 1.2 + 1 }')
[[ -n "$timeout_s" ]] || timeout_s=$(awk -v c="$calls" -v r="$rate" -v d="$duration" 'BEGIN { printf "%d", c / r + d + 60 }')
(( concurrency <= 2500 )) || die "--concurrency above 2500: [auto_media_port] wraps at 10000 ports (4 per call); run several SIPp callers"
caller_span=$(( calls < 2500 ? calls * 4 : 10000 ))
(( caller_mp + caller_span <= 65535 && uas_mp + caller_span <= 65535 )) || die "media port ranges run past 65535"

out="${out:-./sipp-load-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$out/run.log" >&2; }

# SIPp loads play_pcap_audio files relative to its working directory: run it
# in $out with copies of the scenarios and the speech.
if [[ ! -f "$here/speech-ulaw.pcap" ]]; then "$here/make-speech-pcap.sh" -o "$here/speech-ulaw.pcap" >/dev/null; fi
cp "$here"/uac-caller.xml "$here"/uas-pair-ext.xml "$here"/uas-pair-ext-echo.xml "$here"/register.xml "$here"/unregister.xml "$here"/speech-ulaw.pcap "$out/"

pids=()
cleanup() {
  # Best effort: everything started here is bounded anyway; this only shortens the tail.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

bounded() { timeout --kill-after=5 "$1" "${@:2}"; }

register_run() { # $1 = scenario, $2 = expires
  local scenario="$1" expires="$2" name="${1%.xml}" rc=0
  # 50 REGISTERs/s, plus time for the last ones to retransmit and time out.
  local bound=$(( pair_lines / 50 + 60 ))
  (cd "$out" && bounded $(( bound + 30 )) sipp -sf "$scenario" -inf "$pairs_csv_abs" -i "$local_ip" -p "$register_port" \
     -m "$pair_lines" -r 50 -l 50 -nd -timeout "${bound}s" -nostdin -trace_err -trace_stat -stf "${name}_stats.csv" \
     -key uas_host "$local_ip" -key uas_port "$uas_port" -key expires "$expires" \
     "$ast_host:$ast_port" >"$out/$name.stdout" 2>"$out/$name.stderr") || rc=$?
  return "$rc"
}

# ---- 1. register ----------------------------------------------------------------
if (( register )); then
  pairs_csv_abs="$(cd "$(dirname "$pairs_csv")" && pwd)/$(basename "$pairs_csv")"
  log "registering $pair_lines pair extensions at $ast_host:$ast_port (Contact $local_ip:$uas_port)"
  if ! register_run register.xml $(( timeout_s + 120 )); then
    die "registration failed (see $out/register.stderr, register_*_errors.log)" 4
  fi
fi

# ---- 2. the pair-extension UAS ----------------------------------------------------
uas_scenario=uas-pair-ext.xml uas_extra=()
if [[ "$uas_mode" == echo ]]; then uas_scenario=uas-pair-ext-echo.xml uas_extra=(-rtp_echo); fi
log "starting the pair-extension UAS ($uas_mode) on $local_ip:$uas_port (media from $uas_mp)"
(cd "$out" && exec timeout --kill-after=5 $(( timeout_s + 20 )) sipp -sf "$uas_scenario" "${uas_extra[@]}" -i "$local_ip" -p "$uas_port" \
   -mi "$local_ip" -mp "$uas_mp" -aa -key ext pair -m "$calls" -timeout "$(( timeout_s + 10 ))s" -nostdin \
   -trace_err -trace_stat -stf uas_stats.csv -fd 1 -trace_counts \
   >"$out/uas.stdout" 2>"$out/uas.stderr") &
uas_pid=$!
pids+=("$uas_pid")
sleep 1
# SIPp exits at once when it cannot bind its port or load the scenario.
kill -0 "$uas_pid" 2>/dev/null || die "the pair-extension UAS did not start (see $out/uas.stderr)" 3

# ---- 3. record what the callers hear ------------------------------------------------
capture_pid=""
if (( record )); then
  if command -v tcpdump >/dev/null 2>&1; then
    iface=lo; is_loopback "$local_ip" || iface=any
    tcpdump -i "$iface" -U -w "$out/caller-heard.pcap" \
      "udp and dst host $local_ip and dst portrange $caller_mp-$(( caller_mp + caller_span - 1 ))" \
      2>"$out/tcpdump.stderr" &
    capture_pid=$!
    pids+=("$capture_pid")
  else
    log "tcpdump not found: not recording what the callers hear"
  fi
fi

# ---- 5. Tandem API samples --------------------------------------------------------
tandem_get() { # $1 = path; the token goes through curl's config on stdin, never argv
  if [[ -n "${TANDEM_API_TOKEN:-}" ]]; then
    printf 'header = "Authorization: Bearer %s"\n' "$TANDEM_API_TOKEN" | curl -sS --max-time 5 -K - "$TANDEM_API_URL$1"
  else
    curl -sS --max-time 5 "$TANDEM_API_URL$1"
  fi
}
poll_pid=""
if [[ -n "${TANDEM_API_URL:-}" ]]; then
  command -v curl >/dev/null 2>&1 || die "TANDEM_API_URL is set but curl is missing" 3
  tandem_get /healthz >"$out/tandem-health-before.json" 2>>"$out/tandem.stderr" || log "Tandem /healthz failed before the run"
  (
    # Stop promptly when killed: do not leave a sleep behind.
    nap=""
    trap 'if [[ -n "$nap" ]]; then kill "$nap" 2>/dev/null; fi; exit 0' TERM
    end=$(( $(date +%s) + timeout_s ))
    while (( $(date +%s) < end )); do
      t=$(date +%s%3N)
      tandem_get /v1/pairs 2>>"$out/tandem.stderr" \
        | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const v=JSON.parse(s);if(Array.isArray(v.pairs))process.stdout.write(JSON.stringify({t:Number(process.argv[1]),pairs:v.pairs.length})+"\n")}catch{}})' "$t" \
        >>"$out/tandem-pairs.jsonl" || true
      sleep 5 & nap=$!
      wait "$nap" || true
      nap=""
    done
  ) &
  poll_pid=$!
  pids+=("$poll_pid")
fi

# ---- 4. the caller ------------------------------------------------------------------
sleep 0.5 # let tcpdump open its capture before the first INVITE
auth_args=()
if [[ -n "$caller_password_env" ]]; then
  [[ -n "${!caller_password_env:-}" ]] || die "environment variable $caller_password_env is empty"
  auth_args=(-au "$caller" -ap "${!caller_password_env}" -auth_uri "$service@$ast_host:$ast_port")
fi
log "calling $service at $ast_host:$ast_port: $calls calls, $rate/s, at most $concurrency at once, ${duration}s each (bound ${timeout_s}s)"
caller_rc=0
(cd "$out" && bounded $(( timeout_s + 15 )) sipp -sf uac-caller.xml -s "$service" -i "$local_ip" -p "$caller_port" \
   -mi "$local_ip" -mp "$caller_mp" -key caller "$caller" "${auth_args[@]}" \
   -d "$hold_ms" -r "$rate" -l "$concurrency" -m "$calls" -timeout "${timeout_s}s" -nostdin \
   -trace_err -trace_stat -stf caller_stats.csv -fd 1 -trace_rtt -rtt_freq 1 -trace_counts -trace_screen \
   "$ast_host:$ast_port" >"$out/caller.stdout" 2>"$out/caller.stderr") || caller_rc=$?
log "caller finished (sipp exit $caller_rc)"

# ---- 6. wind down --------------------------------------------------------------------
# The UAS exits after --calls calls; give Asterisk's last BYEs a moment, then stop it.
for _ in $(seq 1 20); do kill -0 "$uas_pid" 2>/dev/null || break; sleep 0.5; done
kill "$uas_pid" 2>/dev/null || true
uas_rc=0; wait "$uas_pid" 2>/dev/null || uas_rc=$?
if [[ -n "$capture_pid" ]]; then sleep 0.5; kill "$capture_pid" 2>/dev/null || true; wait "$capture_pid" 2>/dev/null || true; fi
if [[ -n "$poll_pid" ]]; then kill "$poll_pid" 2>/dev/null || true; wait "$poll_pid" 2>/dev/null || true; fi
if [[ -n "${TANDEM_API_URL:-}" ]]; then
  tandem_get /healthz >"$out/tandem-health-after.json" 2>>"$out/tandem.stderr" || log "Tandem /healthz failed after the run"
fi

if (( register )); then
  log "unregistering the pair extensions"
  register_run unregister.xml 0 || log "unregister failed (see $out/unregister.stderr)"
fi

rtp_args=()
if [[ -s "$out/caller-heard.pcap" ]]; then
  if (cd "$repo" && node --import tsx "$here/rtp-pcap.ts" --in "$out/caller-heard.pcap" --json "$out/caller-heard.json" \
        --wav-dir "$out/caller-heard-wav" --dst-ports "$caller_mp-$(( caller_mp + caller_span - 1 ))"); then
    rtp_args=(--rtp "$out/caller-heard.json")
  else
    log "could not read the capture"
  fi
fi
rtt_file=$(ls "$out"/uac-caller_*_rtt.csv 2>/dev/null | head -n 1 || true)
meta=$(printf '{"asterisk":"%s:%s","calls":%s,"rate":%s,"durationS":%s,"concurrency":%s,"callerExit":%s,"uasExit":%s}' \
  "$ast_host" "$ast_port" "$calls" "$rate" "$duration" "$concurrency" "$caller_rc" "$uas_rc")
summary_args=(--caller-stats "$out/caller_stats.csv" --meta "$meta" --out "$out/summary.json" "${rtp_args[@]}")
[[ -f "$out/uas_stats.csv" ]] && summary_args+=(--uas-stats "$out/uas_stats.csv")
[[ -n "$rtt_file" ]] && summary_args+=(--rtt "$rtt_file")
[[ -s "$out/tandem-pairs.jsonl" ]] && summary_args+=(--tandem "$out/tandem-pairs.jsonl")
if [[ -f "$out/caller_stats.csv" ]] && (cd "$repo" && node --import tsx "$here/load-summary.ts" "${summary_args[@]}"); then
  log "summary: $out/summary.json"
  cat "$out/summary.json"
else
  log "no summary (see $out/caller.stderr)"
fi

case "$caller_rc" in
  0) exit 0 ;;
  1) exit 1 ;;
  *) log "sipp caller ended abnormally (exit $caller_rc)"; exit 1 ;;
esac
