#!/usr/bin/env bash
# Makes sure the servers the test suite talks to are up on loopback: PostgreSQL on 5432 and
# Redis on 6379. Starts them if installed, installs them from Debian's packages if not.
# Also installs what the tests start themselves: GStreamer's RTSP server with the system
# Python's bindings (tests/servers/rtsp.py), openssl (test certificates) and zip (re-zipped
# evidence packages).
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if ! have apt-get; then echo "cannot install $*: no apt-get" >&2; return 1; fi
  [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! have pg_isready || ! pg_up; then
  have pg_ctlcluster || apt_install postgresql postgresql-client
  if ! pg_up; then
    ver=$(ls /etc/postgresql | sort -V | tail -n1)
    if ! pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null; then
      pg_ctlcluster "$ver" main start || true
    fi
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
fi
pg_up || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
# Tests connect as postgres over TCP; make sure that role can log in without a password.
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  hba=$(su postgres -c "psql -tAc 'show hba_file'" 2>/dev/null || true)
  if [ -n "$hba" ]; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    su postgres -c "psql -tAc 'select pg_reload_conf()'" >/dev/null
  fi
fi

redis_up() { (have redis-cli && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG); }
if ! redis_up; then
  have redis-server || apt_install redis-server redis-tools
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp >/dev/null
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
fi
redis_up || { echo "Redis did not come up on 127.0.0.1:6379" >&2; exit 1; }
# The RTSP server of the tests runs under the system /usr/bin/python3 (Debian's gi bindings).
rtsp_ok() {
  /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0");
from gi.repository import Gst, GstRtspServer; Gst.init(None)
assert all(Gst.ElementFactory.find(e) for e in ("qtdemux", "h264parse", "rtph264pay", "aacparse", "rtpmp4gpay"))' \
    >/dev/null 2>&1
}
if ! rtsp_ok; then
  apt_install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
    gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav glib-networking
fi
rtsp_ok || { echo "GStreamer's RTSP server is not usable from /usr/bin/python3" >&2; exit 1; }
have zip || apt_install zip
have openssl || apt_install openssl
echo "services: PostgreSQL and Redis are up on 127.0.0.1; gst-rtsp-server, zip, openssl installed"
# The browser tests drive Debian's headless Chromium.
bash "$(dirname "$0")/browser.sh"
