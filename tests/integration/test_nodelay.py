"""TCP_NODELAY on the live server's sockets: the listeners, and the
socket of a session on 25, 587 and 465 (plain and after TLS), read from
the server's own descriptors (sockinspect.py: /proc and pidfd_getfd).
Without it a reply written right after another write (the EHLO reply
after the TLS 1.3 session tickets) waits for the client's delayed ACK.
The outbound side (the deliver process's connected socket) is in
test_outbound_client.py (test_outbound_socket_nodelay)."""

import socket
import time

import pytest

from conftest import Raw, greet
from sockinspect import find_socket, sockopt, tree


def server_side(srv, sock, port):
    """getsockopt TCP_NODELAY of the server's end of sock"""
    mine = sock.getsockname()
    found = None
    for _ in range(50):
        found = find_socket(tree(srv.pid), remote=mine,
                            local=("127.0.0.1", port))
        if found:
            break
        time.sleep(0.02)
    assert found, "the server's socket for %r not found" % (mine,)
    return sockopt(found[0], found[1], socket.IPPROTO_TCP,
                   socket.TCP_NODELAY)


@pytest.mark.parametrize("kind", ["25", "587", "465"])
def test_listener_nodelay(srv, kind):
    port = srv.port(kind)
    found = find_socket(tree(srv.pid), remote=("0.0.0.0", 0),
                        local=("127.0.0.1", port))
    assert found, "listener on %d not found" % port
    assert sockopt(found[0], found[1], socket.IPPROTO_TCP,
                   socket.TCP_NODELAY) != 0


@pytest.mark.parametrize("kind", ["25", "587"])
def test_session_nodelay_plain_and_starttls(srv, kind):
    with srv.raw(kind) as r:
        greet(r)
        assert server_side(srv, r.sock, srv.port(kind)) != 0
        r.starttls()
        r.ehlo()
        assert server_side(srv, r.sock, srv.port(kind)) != 0


def test_session_nodelay_465(srv):
    with Raw(srv.subs_port, tls=True) as r:
        greet(r)
        assert server_side(srv, r.sock, srv.subs_port) != 0
