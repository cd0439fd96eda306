#!/usr/bin/env python3
"""Re-capture the Runtime API transcripts in this folder from a real HAProxy.

Usage: python3 capture.py [OUTDIR]   (needs `haproxy` on PATH; 127.0.0.1 only)

Writes raw reply bytes, exactly as read up to EOF on the stats socket
(non-interactive mode, one connection per command):
  state_*.txt            `show servers state ...` outputs
  replies/ok_*.txt       `set server` replies that mean success
  replies/err_*.txt      `set server` replies that mean failure
"""
import os, socket, subprocess, sys, tempfile, time

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix='hsdo-capture-')
SOCK = os.path.join(TMP, 'admin.sock')

def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


CFG = f"""global
	stats socket {SOCK} mode 600 level admin
defaults
	mode http
	timeout connect 1s
	timeout client 5s
	timeout server 5s
frontend fe
	bind 127.0.0.1:{free_port()}
	default_backend be_app
backend be_app
	balance roundrobin
	server-template web 1-4 127.0.0.2:80 check disabled
backend be_nocheck
	server-template app 1-3 127.0.0.2:8080
backend be_noaddr
	server-template dyn 1-2 example.invalid:80 init-addr none
backend be_fb
	server-template fb 1-2 127.0.0.2:80 disabled
"""


def cmd(line):
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    s.sendall(line.encode() + b'\n')
    out = b''
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out


def save(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)


def main():
    cfg = os.path.join(TMP, 'haproxy.cfg')
    with open(cfg, 'w') as f:
        f.write(CFG)
    p = subprocess.Popen(['haproxy', '-f', cfg, '-db'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(SOCK):
                break
            if p.poll() is not None:
                sys.exit('haproxy exited with status %d' % p.returncode)
            time.sleep(0.05)
        save('state_fresh_all.txt', cmd('show servers state'))
        save('state_fresh_be_app.txt', cmd('show servers state be_app'))
        save('state_unknown_backend.txt', cmd('show servers state nope'))
        save('state_noaddr.txt', cmd('show servers state be_noaddr'))
        r = 'replies/'
        save(r + 'ok_addr_port_changed.txt', cmd('set server be_app/web1 addr 127.0.0.1 port 28081'))
        save(r + 'ok_addr_port_noop.txt', cmd('set server be_app/web1 addr 127.0.0.1 port 28081'))
        save(r + 'ok_addr_noop.txt', cmd('set server be_app/web1 addr 127.0.0.1'))
        save(r + 'ok_port_only.txt', cmd('set server be_app/web1 addr 127.0.0.1 port 28091'))
        save(r + 'ok_addr_ipv6.txt', cmd('set server be_app/web2 addr ::1 port 28082'))
        save(r + 'ok_weight.txt', cmd('set server be_app/web1 weight 50'))
        save(r + 'ok_state_ready.txt', cmd('set server be_app/web1 state ready'))
        save(r + 'ok_state_drain.txt', cmd('set server be_app/web3 state drain'))
        save(r + 'ok_state_maint.txt', cmd('set server be_app/web4 state maint'))
        save(r + 'err_no_such_server.txt', cmd('set server be_app/web9 addr 127.0.0.1 port 1'))
        save(r + 'err_no_such_backend.txt', cmd('set server nobe/web1 addr 127.0.0.1'))
        save(r + 'err_invalid_addr.txt', cmd('set server be_app/web1 addr 999.1.1.1 port 80'))
        save(r + 'err_invalid_hostname.txt', cmd('set server be_app/web1 addr example.com port 80'))
        save(r + 'err_partial_port_abc.txt', cmd('set server be_app/web4 addr 127.0.0.1 port abc'))
        save(r + 'err_port_map.txt', cmd('set server be_app/web1 addr 127.0.0.1 port +10'))
        save(r + 'err_addr_missing.txt', cmd('set server be_app/web1 addr'))
        save(r + 'err_weight_range.txt', cmd('set server be_app/web1 weight 300'))
        save(r + 'err_weight_garbage.txt', cmd('set server be_app/web1 weight abc'))
        save(r + 'err_state_bogus.txt', cmd('set server be_app/web1 state bogus'))
        save(r + 'err_noaddr_family.txt', cmd('set server be_noaddr/dyn1 addr 127.0.0.1 port 80'))
        save(r + 'err_usage.txt', cmd('set server be_app/web1'))
        # web1 ready at 127.0.0.1 (CMAINT quirk: admin 4), web2 IPv6 still
        # disabled, web3 FDRAIN (12), web4 maint with a changed address.
        save('state_mixed_be_app.txt', cmd('show servers state be_app'))
        cmd('set server be_nocheck/app2 state drain')
        cmd('set server be_nocheck/app3 state maint')
        save('state_nocheck.txt', cmd('show servers state be_nocheck'))
    finally:
        p.terminate()
        p.wait()
        for n in os.listdir(TMP):
            os.unlink(os.path.join(TMP, n))
        os.rmdir(TMP)


if __name__ == '__main__':
    main()
