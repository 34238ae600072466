#!/usr/bin/env bash
# Makes a real-speech µ-law RTP pcap for SIPp's play_pcap_audio:
#   espeak-ng -> WAV -> sox (8 kHz mono µ-law raw) -> make-rtp-pcap.ts (RTP, 20 ms, PT 0).
#
# Usage: make-speech-pcap.sh [-o OUT.pcap] [-v VOICE] [-t "TEXT"] [-r OUT.ulaw]
#   -o  pcap to write (default: speech-ulaw.pcap next to this script)
#   -v  espeak-ng voice (default: en-us)
#   -t  text to speak (default: a few sentences, about 18 s)
#   -r  also keep the raw µ-law audio here (usable with <exec rtp_stream="FILE,-1,0"/>)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/speech-ulaw.pcap"
voice="en-us"
raw_keep=""
text="Hello, this is a Tandem load test call. The quick brown fox jumps over the lazy dog. \
Please confirm that you can hear me clearly on both sides of the call. \
This sentence is spoken so the translation engine has real speech to work on. Goodbye."

while getopts ":o:v:t:r:h" opt; do
  case "$opt" in
    o) out="$OPTARG" ;;
    v) voice="$OPTARG" ;;
    t) text="$OPTARG" ;;
    r) raw_keep="$OPTARG" ;;
    h) sed -n '2,9p' "$0"; exit 0 ;;
    :) echo "make-speech-pcap: -$OPTARG needs a value" >&2; exit 2 ;;
    *) echo "make-speech-pcap: unknown option -$OPTARG" >&2; exit 2 ;;
  esac
done

for tool in espeak-ng sox node; do
  command -v "$tool" >/dev/null 2>&1 || { echo "make-speech-pcap: '$tool' not found (apt-get install espeak-ng sox)" >&2; exit 3; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

espeak-ng -v "$voice" -s 150 -w "$work/speech.wav" "$text"
# espeak-ng writes 22050 Hz; resample to the telephone band and encode G.711 µ-law.
sox "$work/speech.wav" -r 8000 -c 1 -e u-law -b 8 -t raw "$work/speech.ulaw"
if [[ -n "$raw_keep" ]]; then cp "$work/speech.ulaw" "$raw_keep"; fi

(cd "$repo" && node --import tsx "$here/make-rtp-pcap.ts" --in "$work/speech.ulaw" --out "$out" --pt 0 --ptime 20)
