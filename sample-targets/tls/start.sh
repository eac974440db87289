#!/usr/bin/env bash
# TLS servers on 127.0.0.1 for the demo: a TLS 1.0-only openssl s_server with a bad certificate,
# an nginx with a modern configuration, and a pyOpenSSL server that offers X25519MLKEM768.
# Usage: start.sh OUTDIR. Writes certificates, configs and pid files under OUTDIR, and the scan
# options (--tls 127.0.0.1:PORT ...) to OUTDIR/scan-args. stop.sh OUTDIR stops them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
python="${KEYSWEEP_PYTHON:-python3}"
nginx="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$nginx" ] || { echo "tls: nginx is not installed (scripts/bootstrap.sh installs nginx-light)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "tls: openssl is not installed" >&2; exit 1; }

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 100); do
    "$python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "tls: nothing listens on 127.0.0.1:$1" >&2
  return 1
}

"$python" "$here/make_certs.py" "$out"
# the legacy server's certificate: self-signed RSA-1024 with SHA-1, expired since yesterday
openssl req -newkey rsa:1024 -nodes -keyout "$out/legacy.key" -out "$out/legacy.csr" \
  -subj "/O=keysweep demo/CN=legacy.localhost" 2>/dev/null
openssl x509 -req -in "$out/legacy.csr" -signkey "$out/legacy.key" -sha1 -days -1 -out "$out/legacy.crt" 2>/dev/null
chmod 600 "$out/legacy.key"
openssl dhparam -out "$out/dh1024.pem" 1024 2>/dev/null

legacy_port=$(free_port)
nohup openssl s_server -accept "127.0.0.1:$legacy_port" -cert "$out/legacy.crt" -key "$out/legacy.key" \
  -tls1 -cipher 'ALL:@SECLEVEL=0' -dhparam "$out/dh1024.pem" -www -quiet \
  </dev/null >"$out/legacy.log" 2>&1 &
echo $! >"$out/legacy.pid"

modern_port=$(free_port)
mkdir -p "$out/nginx"
cat >"$out/nginx/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $out/nginx/tmp-body;
  proxy_temp_path $out/nginx/tmp-proxy;
  fastcgi_temp_path $out/nginx/tmp-fastcgi;
  uwsgi_temp_path $out/nginx/tmp-uwsgi;
  scgi_temp_path $out/nginx/tmp-scgi;
  server {
    listen 127.0.0.1:$modern_port ssl;
    server_name localhost;
    ssl_certificate $out/modern-fullchain.crt;
    ssl_certificate_key $out/modern.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    add_header Strict-Transport-Security "max-age=63072000" always;
    location / { return 200 "keysweep demo: modern TLS\n"; }
  }
}
CONF
"$nginx" -p "$out/nginx" -c "$out/nginx/nginx.conf" -e "$out/nginx/error.log"

pq_port=$(free_port)
nohup "$python" "$here/pq_server.py" "$out/pq-fullchain.crt" "$out/pq.key" --port "$pq_port" --hsts \
  </dev/null >"$out/pq.log" 2>&1 &
echo $! >"$out/pq.pid"

wait_port "$legacy_port"
wait_port "$modern_port"
wait_port "$pq_port"
printf -- '--tls\n127.0.0.1:%s\n--tls\n127.0.0.1:%s\n--tls\n127.0.0.1:%s\n' \
  "$legacy_port" "$modern_port" "$pq_port" >"$out/scan-args"
echo "tls: TLS 1.0 on :$legacy_port, nginx on :$modern_port, post-quantum on :$pq_port" >&2
