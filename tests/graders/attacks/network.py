# about: tries the network: DNS, TCP to public hosts and to every local address (the grader,
#   other sandboxes), UDP, and an abstract Unix socket; reports any success in feedback
# base: blank
# defence: the network namespace (no interface but loopback)
# lacks: connected to
# --- cell
import socket

successes = []
targets = [("1.1.1.1", 53), ("8.8.8.8", 53), ("151.101.0.223", 443), ("127.0.0.1", 22),
           ("127.0.0.1", 80), ("127.0.0.1", 8888), ("10.0.0.1", 80), ("172.17.0.1", 80)]
for host, port in targets:
    try:
        with socket.create_connection((host, port), timeout=1):
            successes.append(f"{host}:{port}")
    except OSError:
        pass
try:
    socket.getaddrinfo("pypi.org", 443)
    successes.append("DNS pypi.org")
except OSError:
    pass
try:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.sendto(b"x", ("1.1.1.1", 53))
    successes.append("UDP 1.1.1.1")
except OSError:
    pass
try:
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.connect("\0prunekit-grader")
    successes.append("abstract unix socket")
except OSError:
    pass
interfaces = [name for _, name in socket.if_nameindex()]


def get_sparsity(tensor):
    if successes:
        raise RuntimeError(f"connected to {successes}")
    raise RuntimeError(f"no network (interfaces: {interfaces})")
