# Helpers shared by the start.sh / stop.sh scripts of each third-party SCIM server.
# Source it from a script; it runs no third-party code itself, it only installs pinned
# packages by name and version from PyPI or npm and starts them on 127.0.0.1.
#
# Everything a server needs lives under $RS_BASE/NAME (default: .realservers/NAME at the
# repository root, ignored by git).

_rs_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RS_BASE=${RS_BASE:-$(cd "$_rs_here/../.." && pwd)/.realservers}

rs_init() { # NAME PORT
  RS_NAME=$1
  RS_PORT=$2
  RS_ROOT=$RS_BASE/$RS_NAME
  RS_PIDFILE=$RS_ROOT/server.pid
  RS_LOG=$RS_ROOT/server.log
  mkdir -p "$RS_ROOT"
}

rs_running() {
  [ -f "$RS_PIDFILE" ] && kill -0 "$(cat "$RS_PIDFILE")" 2>/dev/null
}

rs_port_busy() { # PORT
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# rs_venv PKG==VER ...: $RS_ROOT/venv holding exactly these pins (reused when unchanged)
rs_venv() {
  local want="$*"
  if [ -x "$RS_ROOT/venv/bin/python" ] && [ "$(cat "$RS_ROOT/venv/.pins" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  rm -rf "$RS_ROOT/venv"
  python3 -m venv "$RS_ROOT/venv"
  "$RS_ROOT/venv/bin/pip" install -q --disable-pip-version-check "$@"
  echo "$want" >"$RS_ROOT/venv/.pins"
}

# rs_venv_locked REQUIREMENTS: $RS_ROOT/venv holding exactly the committed requirements
# file (the whole dependency tree pinned, so a fresh machine gets what CI tested)
rs_venv_locked() {
  local req=$1
  if [ -x "$RS_ROOT/venv/bin/python" ] && cmp -s "$req" "$RS_ROOT/venv/.requirements"; then
    return 0
  fi
  rm -rf "$RS_ROOT/venv"
  python3 -m venv "$RS_ROOT/venv"
  "$RS_ROOT/venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$RS_ROOT/venv/.requirements"
}

# rs_npm_locked SRC: install the committed SRC/package.json and SRC/package-lock.json into
# $RS_ROOT with `npm ci` (the whole tree pinned, integrity-checked)
rs_npm_locked() {
  local src=$1
  if [ -d "$RS_ROOT/node_modules" ] && cmp -s "$src/package-lock.json" "$RS_ROOT/.lock-installed"; then
    return 0
  fi
  cp "$src/package.json" "$src/package-lock.json" "$RS_ROOT/"
  (cd "$RS_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$src/package-lock.json" "$RS_ROOT/.lock-installed"
}

# rs_npm DIR PKG@VER ...: an npm prefix DIR holding exactly these packages
rs_npm() {
  local dir=$1
  shift
  local want="$*"
  if [ -d "$dir/node_modules" ] && [ "$(cat "$dir/.pins" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  mkdir -p "$dir"
  rm -rf "$dir/node_modules" "$dir/package-lock.json"
  (cd "$dir" && npm install --no-audit --no-fund --save-exact --loglevel=error "$@")
  echo "$want" >"$dir/.pins"
}

# rs_launch CMD ARGS...: start detached in a session of its own and record its pid
rs_launch() {
  if rs_port_busy "$RS_PORT"; then
    echo "$RS_NAME: port $RS_PORT on 127.0.0.1 is taken by a process not recorded in $RS_PIDFILE" >&2
    return 1
  fi
  nohup setsid "$@" >"$RS_LOG" 2>&1 </dev/null &
  echo $! >"$RS_PIDFILE"
}

# rs_wait URL [curl args...]: poll until URL answers with an HTTP status below 500
rs_wait() {
  local url=$1
  shift
  local code
  for _ in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true)
    if [ "$code" != "000" ] && [ "$code" -lt 500 ]; then
      echo "$RS_NAME up: pid $(cat "$RS_PIDFILE"), $url answered $code"
      return 0
    fi
    if ! rs_running; then
      echo "$RS_NAME died while starting; last log lines:" >&2
      tail -30 "$RS_LOG" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "$RS_NAME did not answer within 60 s; log: $RS_LOG" >&2
  return 1
}

# rs_stop: stop the recorded pid and its process group (setsid gave it one with the same
# id); never anything found by name
rs_stop() {
  if ! [ -f "$RS_PIDFILE" ]; then
    echo "$RS_NAME: not running (no pid file)"
    return 0
  fi
  local pid
  pid=$(cat "$RS_PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "$RS_NAME: stopped pid $pid"
  fi
  rm -f "$RS_PIDFILE"
}
