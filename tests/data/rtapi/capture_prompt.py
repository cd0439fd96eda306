#!/usr/bin/env python3
"""Re-capture the prompt-mode Runtime API streams in this folder.

Usage: python3 capture_prompt.py [OUTDIR]   (needs `haproxy` on PATH)

Each prompt_<name>.txt holds the raw bytes HAProxy sent on one connection
that got `prompt\\n`, then (after the prompt answer) the listed commands in
one write, then `quit\\n`; read to EOF, as hsdo_rtapi_client does it.
tests/unit/check_rtapi_client.c lists the same commands and the replies.
"""
import os, socket, subprocess, sys, tempfile, time

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix='hsdo-capture-prompt-')
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
"""

STREAMS = {
    'state': [
        'show servers state be_app',
        'show backend',
        'show servers state nope',
    ],
    'set_server': [
        'set server be_app/web1 weight 5',
        'set server be_app/web9 weight 5',
        'set server be_app/web1 state ready',
        'set server nobe/web1 state ready',
        'set server be_app/web2 addr 127.0.0.1 port 8080',
        'set server be_app/web1 weight abc',
        'set server be_app/web1 weight 300',
        'get weight be_app/web1',
        'del server be_app/nope',
        'set server be_app/web1 state maint',
    ],
    # a ';' separates two commands on one line (two replies); '\\;' does not
    'escape': [
        'get weight be_app/web1;show backend',
        'show backend \\;',
        'get weight be_app/web1\\;show backend',
    ],
    'unknown': [
        'bogus command',
        'help show backend',
    ],
}


def session(lines):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(SOCK)
    s.sendall(b'prompt\n')
    first = b''
    while len(first) < 3:
        b = s.recv(3 - len(first))
        if not b:
            sys.exit('EOF before the prompt')
        first += b
    assert first == b'\n> ', first
    s.sendall(''.join(l + '\n' for l in lines).encode() + b'quit\n')
    out = first
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out


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
        time.sleep(0.1)
        for name, lines in STREAMS.items():
            with open(os.path.join(OUT, 'prompt_%s.txt' % name), 'wb') as f:
                f.write(session(lines))
    finally:
        p.terminate()
        p.wait()
        for n in os.listdir(TMP):
            os.unlink(os.path.join(TMP, n))
        os.rmdir(TMP)


if __name__ == '__main__':
    main()
