#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for firecracker and cloud-hypervisor in microvm's tests of those two backends.

The real programs need KVM, which the test machines lack. microvm's launcher execs this script
exactly as it would exec the real binary, as the main process of a systemd unit, and microvmd talks
HTTP/1.1 to its API socket. Which program it plays comes from the name it was started by (a link
named firecracker or cloud-hypervisor); no guest runs, but the API, the sockets, the exit statuses
and the command line or configuration file checks are those of the real programs (Firecracker
v1.16.1, cloud-hypervisor v53.0), so that a mistake microvm makes fails here as it would there.

Records, in $STATE_DIRECTORY (else the current directory), for the tests to look at:
    fake-argv          the command line, one element a line, argv[0] included
    fake-pid           the process id
    fake-config.json   Firecracker: a copy of the --config-file file
    fake-requests.log  one JSON object a line for each HTTP request, written before the answer:
                       {"method": ..., "path": ..., "body": <text, or null for none>}

$STATE_DIRECTORY/fake-behaviour, a JSON object read again at every request and event, changes the
behaviour (a missing file is {}):
    "METHOD PATH": "ok"      normal handling (the default), e.g. "PATCH /vm", "PUT /api/v1/vm.pause"
                   "fault"   Firecracker: 400 {"fault_message": "fake fault for METHOD PATH"};
                             cloud-hypervisor: 500 ["fake fault for METHOD PATH", "Error from fake"]
                   "hang"    read the request, never answer, keep the connection open
                   "close"   read the request, close the connection without an answer
    "startup-delay": N       seconds to wait before binding the API socket
    "exit-on-start": N       exit with status N right after writing the records
    "ignore-power": true     the graceful stop (SendCtrlAltDel, vm.power-button) is answered but
                             the guest does not act on it, so the process stays
    "guest-agent": PATH      the guest runs microvm's agent, PATH, as the init of its own PID and
                             mount namespaces: the hybrid vsock reaches it on port 5100, and its
                             Shutdown or Reboot ends that namespace as the guest's poweroff or reboot
                             (see Guest)
"""

import errno
import fcntl
import subprocess
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback

FC_VERSION = "1.16.1"
CH_BUILD_VERSION = "v53.0"
CH_VERSION = "53.0.0"

# Marks the snapshot files this program writes; a load of anything else fails.
SNAPSHOT_MAGIC = "microvm fake-hypervisor snapshot 1"
MEMORY_PATTERN = b"fake guest memory page\n"
MEMORY_SIZE = 1024 * 1024

PROGRAM = None  # "firecracker" or "cloud-hypervisor"
PREFIX = None  # "fake-firecracker" or "fake-cloud-hypervisor", for the fake guest's lines

state_dir = "."
state_lock = threading.RLock()
log_lock = threading.Lock()
exit_lock = threading.Lock()
cleanup_paths = []  # unlinked on exit (cloud-hypervisor only)


class Fault(Exception):
    """A request or a configuration that the real program refuses; the message says why."""


# Records, behaviour, exit


def record_path(name):
    return os.path.join(state_dir, name)


def write_records():
    with open(record_path("fake-argv"), "w") as f:
        f.write("".join(a + "\n" for a in sys.argv))
    with open(record_path("fake-pid"), "w") as f:
        f.write(f"{os.getpid()}\n")
    # Appended to across restarts of the unit, never truncated.
    with open(record_path("fake-requests.log"), "a"):
        pass


def behaviour():
    try:
        with open(record_path("fake-behaviour")) as f:
            b = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        warn(f"cannot read fake-behaviour, ignoring it: {e}")
        return {}
    if not isinstance(b, dict):
        warn("fake-behaviour is not a JSON object, ignoring it")
        return {}
    return b


def log_request(method, path, body):
    line = json.dumps({"method": method, "path": path,
                       "body": body.decode("utf-8", "replace") if body is not None else None})
    with log_lock, open(record_path("fake-requests.log"), "a") as f:
        f.write(line + "\n")
        f.flush()


def warn(msg):
    print(f"{PREFIX or 'fake-hypervisor'}: {msg}", file=sys.stderr, flush=True)


def guest_print(line):
    """A line of the fake guest's serial console that goes to standard output."""
    print(line, flush=True)


def finish(status):
    """Ends the process at once, from any thread."""
    with exit_lock:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        for p in cleanup_paths:
            try:
                os.unlink(p)
            except OSError:
                pass
        if GUEST:
            GUEST.kill()
        os._exit(status)


def die(msg, status=1):
    print(f"Error: {msg}", file=sys.stderr, flush=True)
    finish(status)


def finish_later(status, delay=0.2):
    t = threading.Timer(delay, finish, (status,))
    t.daemon = True
    t.start()


def startup_delay():
    delay = behaviour().get("startup-delay", 0)
    try:
        delay = float(delay)
    except (TypeError, ValueError):
        warn(f"startup-delay {delay!r} is not a number, ignoring it")
        return
    if delay > 0:
        time.sleep(delay)


def bind_unix(path):
    """Binds a listening socket at path: EADDRINUSE if path exists. Only its owner (and root)
    may connect, as with the real programs under systemd."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o077)
    try:
        s.bind(path)
        s.listen(16)
    except OSError:
        s.close()
        raise
    finally:
        os.umask(old)
    return s


def os_error_text(e):
    return f"{e.strerror or e} (os error {e.errno})"


def spawn(target, *args):
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


def write_memory_file(path, flags):
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        pattern = MEMORY_PATTERN * (MEMORY_SIZE // len(MEMORY_PATTERN) + 1)
        f.write(pattern[:MEMORY_SIZE])


def has_serial_console(cmdline):
    """Whether the guest kernel writes to its first serial port at all."""
    words = (cmdline or "").split()
    if "8250.nr_uarts=0" in words:
        return False
    return any(w == "console=ttyS0" or w.startswith("console=ttyS0,") for w in words)


def boot_lines(kernel, cmdline):
    return [f"{PREFIX}: booting {kernel} with '{cmdline}'", f"{PREFIX}: guest up"]


# HTTP, as micro_http serves it: keep-alive, Content-Length bodies only

REASONS = {100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found",
           500: "Internal Server Error"}
MAX_HEAD = 64 * 1024


def encode_reply(status, payload):
    server = "Firecracker API" if PROGRAM == "firecracker" else "Cloud Hypervisor API"
    head = f"HTTP/1.1 {status} {REASONS[status]}\r\nServer: {server}\r\nConnection: keep-alive\r\n"
    if payload is None:
        if status != 204:
            head += "Content-Length: 0\r\n"
        return (head + "\r\n").encode()
    body = json.dumps(payload).encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class HttpServer:
    def __init__(self, listener, handler, bad_request):
        self.listener = listener
        self.handler = handler  # (method, path, body or None) -> (status, payload, after or None)
        self.bad_request = bad_request  # message -> (status, payload)

    def run(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except InterruptedError:
                continue
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    time.sleep(0.1)
                    continue
                raise
            spawn(self.serve, conn)

    def refuse(self, conn, message):
        # A request that cannot be framed: answer and close, since where it ends is unknown.
        status, payload = self.bad_request(message)
        try:
            conn.sendall(encode_reply(status, payload))
        except OSError:
            pass

    def serve(self, conn):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    if len(buf) > MAX_HEAD:
                        return self.refuse(conn, "Request header too long")
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                    return self.refuse(conn, f"Invalid request line: {lines[0]!r}")
                method, target, _ = parts
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if not sep:
                        return self.refuse(conn, f"Invalid header: {line!r}")
                    headers[name.strip().lower()] = value.strip()
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    log_request(method, target, None)
                    return self.refuse(conn, "Unsupported Transfer-Encoding: chunked bodies are not decoded")
                try:
                    length = int(headers.get("content-length", "0"))
                    if length < 0:
                        raise ValueError
                except ValueError:
                    return self.refuse(conn, "Invalid Content-Length")
                if length > len(buf) and headers.get("expect", "").lower() == "100-continue":
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                while len(buf) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                body, buf = (buf[:length], buf[length:]) if length > 0 else (None, buf)
                path = target.split("?", 1)[0]

                log_request(method, target, body)
                what = behaviour().get(f"{method} {path}", "ok")
                if what == "hang":
                    while conn.recv(65536):
                        pass
                    return
                if what == "close":
                    return
                if what == "fault":
                    status, payload, after = fault_reply(method, path)
                else:
                    if what != "ok":
                        warn(f"unknown behaviour {what!r} for '{method} {path}', handling it normally")
                    try:
                        with state_lock:
                            status, payload, after = self.handler(method, path, body)
                    except Exception as e:  # a bug of this program: say so, and still answer
                        traceback.print_exc()
                        status, payload = self.bad_request(f"internal error of the fake hypervisor: {e!r}")
                        after = None
                conn.sendall(encode_reply(status, payload))
                if after:
                    after()
        except OSError:
            pass
        finally:
            conn.close()


def fault_reply(method, path):
    if PROGRAM == "firecracker":
        return 400, {"fault_message": f"fake fault for {method} {path}"}, None
    return 500, [f"fake fault for {method} {path}", "Error from fake"], None


# The guest


AGENT_VSOCK_PORT = 5100
GUEST = None  # the running Guest, which the hybrid vsock reaches


class Guest:
    """A guest whose only program is microvm's agent, run as the init of its own PID and mount
    namespaces (unshare(1)), inside a user namespace where it is root (the unit gives the
    hypervisor no privileges of its own), with a listening socket passed as a socket unit would (LISTEN_FDS).
    /run/systemd is empty there, so the agent powers off or reboots with reboot(2), which in a PID
    namespace ends the namespace: its init dies of SIGINT for a poweroff or halt and of SIGHUP for
    a reboot, and unshare(1) passes that on as its own end. on_end gets "poweroff", "reboot" or
    "crash"."""

    def __init__(self, agent, on_end):
        self.on_end = on_end
        self.killed = False
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind("")  # an abstract address of the kernel's choosing
        self.listener.listen(16)
        self.address = self.listener.getsockname()
        lfd = self.listener.fileno()

        def as_fd_3():
            os.dup2(lfd, 3)

        script = ('mount -t tmpfs tmpfs /run/systemd && LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" '
                  '--no-vsock --port=fake-none')
        self.proc = subprocess.Popen(["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount", "--propagation", "private",
                                      "--kill-child", "sh", "-c", script, agent],
                                     pass_fds=(3,), preexec_fn=as_fd_3,
                                     stdin=subprocess.DEVNULL)
        warn(f"guest: started {agent} as its init (process {self.proc.pid})")
        spawn(self.wait)

    def wait(self):
        status = self.proc.wait()
        self.listener.close()
        if self.killed:
            return
        how = {-signal.SIGINT: "poweroff", -signal.SIGHUP: "reboot"}.get(status, "crash")
        warn(f"guest: its init ended with status {status}: {how}")
        global GUEST
        with state_lock:
            if GUEST is self:
                GUEST = None
            self.on_end(how)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.address)
        except OSError:
            s.close()
            raise
        return s

    def kill(self):
        self.killed = True
        try:
            self.proc.kill()
        except OSError:
            pass


def start_guest(on_end):
    """Starts the guest's agent if fake-behaviour asks for one."""
    global GUEST
    agent = behaviour().get("guest-agent")
    if not agent:
        return
    if GUEST:
        GUEST.kill()
    GUEST = Guest(agent, on_end)


def stop_guest():
    global GUEST
    if GUEST:
        GUEST.kill()
        GUEST = None


def pump(src, dst):
    """Copies one direction of a vsock connection until its end."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# The hybrid vsock: the same protocol in both programs


class VsockListener:
    def __init__(self, path):
        self.path = path
        self.sock = bind_unix(path)
        spawn(self.run)

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            spawn(self.handle, conn)

    def handle(self, conn):
        # "CONNECT <port>\n", at most 32 bytes up to '\n'. Only the guest's agent listens, on port
        # 5100; any other port, or no agent, closes the connection with no reply, as when the guest
        # has no listener.
        line = b""
        try:
            while len(line) < 32 and b"\n" not in line:
                data = conn.recv(32 - len(line))
                if not data:
                    break
                line += data
            line, _, rest = line.partition(b"\n")
            words = line.decode("ascii", "replace").split()
            if not (len(words) == 2 and words[0].upper() == "CONNECT" and words[1].isdigit()):
                warn(f"vsock: bad handshake {line!r}, closing")
                conn.close()
                return
            guest = GUEST
            if int(words[1]) != AGENT_VSOCK_PORT or not guest:
                warn(f"vsock: no guest listener on port {words[1]}, closing")
                conn.close()
                return
            try:
                peer = guest.connect()
            except OSError as e:
                warn(f"vsock: the guest's agent does not take connections ({e}), closing")
                conn.close()
                return
            conn.sendall(b"OK 1073741824\n")
            if rest:
                peer.sendall(rest)
        except OSError:
            conn.close()
            return
        t = spawn(pump, peer, conn)
        pump(conn, peer)
        t.join()
        conn.close()
        peer.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


# Firecracker

FC_DEFAULT_BOOT_ARGS = ("reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "
                        "i8042.nopnp i8042.dumbkbd")
FC_ID = re.compile(r"^[A-Za-z0-9_]+$")
FC_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")

# Fields of the swagger's objects, by JSON type, and the required ones.
FC_OBJECTS = {
    "boot-source": ({"kernel_image_path": str, "initrd_path": str, "boot_args": str},
                    {"kernel_image_path"}),
    "machine-config": ({"vcpu_count": int, "mem_size_mib": int, "smt": bool, "track_dirty_pages": bool,
                        "huge_pages": str, "cpu_template": str},
                       {"vcpu_count", "mem_size_mib"}),
    "drives": ({"drive_id": str, "path_on_host": str, "is_root_device": bool, "is_read_only": bool,
                "partuuid": str, "cache_type": str, "io_engine": str, "rate_limiter": dict, "socket": str},
               {"drive_id", "is_root_device"}),
    "network-interfaces": ({"iface_id": str, "host_dev_name": str, "guest_mac": str, "rx_rate_limiter": dict,
                            "tx_rate_limiter": dict},
                           {"iface_id", "host_dev_name"}),
    "vsock": ({"guest_cid": int, "uds_path": str, "vsock_id": str}, {"guest_cid", "uds_path"}),
    "logger": ({"log_path": str, "level": str, "show_level": bool, "show_log_origin": bool, "module": str},
               set()),
    "metrics": ({"metrics_path": str}, {"metrics_path"}),
    "entropy": ({"rate_limiter": dict}, set()),
    # Request bodies
    "vm": ({"state": str}, {"state"}),
    "actions": ({"action_type": str}, {"action_type"}),
    "snapshot-create": ({"snapshot_type": str, "snapshot_path": str, "mem_file_path": str},
                        {"snapshot_path", "mem_file_path"}),
    "snapshot-load": ({"snapshot_path": str, "mem_backend": dict, "mem_file_path": str,
                       "enable_diff_snapshots": bool, "track_dirty_pages": bool, "resume_vm": bool,
                       "network_overrides": list, "vsock_override": dict},
                      {"snapshot_path"}),
    "mem_backend": ({"backend_type": str, "backend_path": str}, {"backend_type", "backend_path"}),
    "network_overrides": ({"iface_id": str, "host_dev_name": str}, {"iface_id", "host_dev_name"}),
    "vsock_override": ({"uds_path": str}, {"uds_path"}),
}
TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "an array"}


def fc_check_object(kind, obj):
    """What serde does with Firecracker's deny_unknown_fields structures."""
    fields, required = FC_OBJECTS[kind]
    if not isinstance(obj, dict):
        raise Fault(f"{kind}: invalid type: expected an object")
    for k, v in obj.items():
        if k not in fields:
            expected = ", ".join(f"`{f}`" for f in fields)
            raise Fault(f"{kind}: unknown field `{k}`, expected one of {expected}")
        if v is None and k not in required:
            continue
        t = fields[k]
        if not isinstance(v, t) or (t is int and isinstance(v, bool)):
            raise Fault(f"{kind}: invalid type for `{k}`: expected {TYPE_NAMES[t]}")
    for k in sorted(required):
        if k not in obj:
            raise Fault(f"{kind}: missing field `{k}`")
    return obj


def fc_check_id(kind, value):
    if not FC_ID.match(value):
        raise Fault(f"{kind}: invalid ID '{value}': the ID cannot contain characters other than "
                    f"letters, digits and underscores")


def fc_parse_body(kind, body):
    if body is None:
        raise Fault("Empty request body.")
    try:
        obj = json.loads(body)
    except ValueError as e:
        raise Fault(f"An error occurred when deserializing the json body of a request: {e}.")
    try:
        return fc_check_object(kind, obj)
    except Fault as e:
        raise Fault(f"An error occurred when deserializing the json body of a request: {e}.")


def open_log_file(path, line):
    # As Firecracker opens logs and metrics: created if missing, a FIFO without reader fails.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    except BlockingIOError:
        pass
    finally:
        os.close(fd)


class Firecracker:
    def __init__(self, api_sock, config_path):
        self.api_sock = api_sock
        self.config_path = config_path
        self.config_text = None
        self.config = {}  # the VM's configuration: the file's, the pre-boot PUTs', or the snapshot's
        self.state = "Not started"
        self.loaded = False
        self.reboot_pending = False
        self.vsock = None

    # Configuration, shared by --config-file (errors end the process) and the pre-boot API

    def set_boot_source(self, obj):
        fc_check_object("boot-source", obj)
        for key in ("kernel_image_path", "initrd_path"):
            p = obj.get(key)
            if p is not None and not os.path.exists(p):
                raise Fault(f"boot-source: cannot open {key} '{p}': No such file or directory (os error 2)")
        self.config["boot-source"] = obj

    def set_machine_config(self, obj):
        fc_check_object("machine-config", obj)
        if not 1 <= obj["vcpu_count"] <= 32:
            raise Fault("machine-config: the vCPU number is invalid! The vCPU number can only be 1 or an "
                        "even number when SMT is enabled.")
        if obj["mem_size_mib"] <= 0:
            raise Fault("machine-config: the memory size (MiB) is invalid.")
        self.config["machine-config"] = obj

    def set_drive(self, obj):
        fc_check_object("drives", obj)
        fc_check_id("drives", obj["drive_id"])
        path, sock = obj.get("path_on_host"), obj.get("socket")
        if path is None and sock is None:
            raise Fault(f"drives: drive '{obj['drive_id']}' has neither path_on_host nor socket")
        if path is not None and not os.path.exists(path):
            raise Fault(f"drives: unable to open the block device backing file '{path}': "
                        f"No such file or directory (os error 2)")
        if obj.get("cache_type") not in (None, "Unsafe", "Writeback"):
            raise Fault(f"drives: unknown variant `{obj['cache_type']}`, expected `Unsafe` or `Writeback`")
        if obj.get("io_engine") not in (None, "Sync", "Async"):
            raise Fault(f"drives: unknown variant `{obj['io_engine']}`, expected `Sync` or `Async`")
        drives = [d for d in self.config.get("drives", []) if d["drive_id"] != obj["drive_id"]]
        if obj["is_root_device"] and any(d.get("is_root_device") for d in drives):
            raise Fault("drives: a root block device already exists!")
        drives.append(obj)
        self.config["drives"] = drives

    def set_nic(self, obj):
        fc_check_object("network-interfaces", obj)
        fc_check_id("network-interfaces", obj["iface_id"])
        mac = obj.get("guest_mac")
        if mac is not None and not FC_MAC.match(mac):
            raise Fault(f"network-interfaces: invalid MAC address '{mac}'")
        nics = [n for n in self.config.get("network-interfaces", []) if n["iface_id"] != obj["iface_id"]]
        if any(n["host_dev_name"] == obj["host_dev_name"] for n in nics):
            raise Fault(f"network-interfaces: the host device name {obj['host_dev_name']} is already in use")
        nics.append(obj)
        self.config["network-interfaces"] = nics

    def set_vsock(self, obj):
        fc_check_object("vsock", obj)
        if obj.get("vsock_id") is not None:
            fc_check_id("vsock", obj["vsock_id"])
        if obj["guest_cid"] < 3:
            raise Fault(f"vsock: invalid guest CID {obj['guest_cid']}")
        self.bind_vsock(obj["uds_path"])
        self.config["vsock"] = obj

    def bind_vsock(self, path):
        if self.vsock:
            self.vsock.close()
            self.vsock = None
        try:
            self.vsock = VsockListener(path)
        except OSError as e:
            raise Fault(f"vsock: cannot create the backend for vsock device: cannot bind to '{path}': "
                        f"{os_error_text(e)}")

    def set_logger(self, obj):
        fc_check_object("logger", obj)
        level = obj.get("level")
        if level is not None and level.lower() not in ("error", "warning", "info", "debug", "trace", "off"):
            raise Fault(f"logger: invalid value for logger level: {level}. "
                        f"Possible values: [Error, Warning, Info, Debug]")
        if obj.get("log_path") is not None:
            try:
                open_log_file(obj["log_path"], f"Running Firecracker v{FC_VERSION}")
            except OSError as e:
                raise Fault(f"logger: failed to open target file: {os_error_text(e)}")
        self.config["logger"] = obj

    def set_metrics(self, obj):
        fc_check_object("metrics", obj)
        try:
            open_log_file(obj["metrics_path"], json.dumps({"utc_timestamp_ms": int(time.time() * 1000)}))
        except OSError as e:
            raise Fault(f"metrics: failed to open target file: {os_error_text(e)}")
        self.config["metrics"] = obj

    def set_entropy(self, obj):
        self.config["entropy"] = fc_check_object("entropy", obj)

    def load_config_file(self):
        try:
            cfg = json.loads(self.config_text)
        except ValueError as e:
            raise Fault(f"invalid JSON: {e}")
        if not isinstance(cfg, dict):
            raise Fault("invalid type: expected a JSON object")
        # Top-level keys that are not Firecracker's are ignored, as Firecracker does (a typo such
        # as "machine_config" boots with the defaults); the objects inside refuse unknown fields.
        for key in ("boot-source", "drives"):
            if key not in cfg:
                raise Fault(f"missing field `{key}`")
        for kind in ("boot-source", "machine-config", "vsock", "logger", "metrics", "entropy"):
            if cfg.get(kind) is not None:
                fc_check_object(kind, cfg[kind])
        for kind in ("drives", "network-interfaces"):
            items = cfg.get(kind)
            if items is None and kind == "network-interfaces":
                continue
            if not isinstance(items, list):
                raise Fault(f"{kind}: invalid type: expected an array")
            for obj in items:
                fc_check_object(kind, obj)

        if cfg.get("logger") is not None:
            self.set_logger(cfg["logger"])
        if cfg.get("metrics") is not None:
            self.set_metrics(cfg["metrics"])
        self.set_boot_source(cfg["boot-source"])
        if cfg.get("machine-config") is not None:
            self.set_machine_config(cfg["machine-config"])
        for d in cfg["drives"]:
            self.set_drive(d)
        for n in cfg.get("network-interfaces") or []:
            self.set_nic(n)
        if cfg.get("entropy") is not None:
            self.set_entropy(cfg["entropy"])
        if cfg.get("vsock") is not None:
            self.set_vsock(cfg["vsock"])

    # The fake guest

    def cmdline(self):
        boot = self.config.get("boot-source", {})
        args = boot.get("boot_args")
        if args is None:
            args = FC_DEFAULT_BOOT_ARGS
        for d in self.config.get("drives", []):
            if d.get("is_root_device"):
                root = f"PARTUUID={d['partuuid']}" if d.get("partuuid") else "/dev/vda"
                args += f" root={root} {'ro' if d.get('is_read_only') else 'rw'}"
        return args

    def boot(self):
        self.state = "Running"
        cmdline = self.cmdline()
        if has_serial_console(cmdline):
            for line in boot_lines(self.config["boot-source"]["kernel_image_path"], cmdline):
                guest_print(line)
        else:
            warn("the guest has no serial console (no console=ttyS0 on its command line): it prints nothing")
        start_guest(self.guest_ended)

    def guest_ended(self, how):
        # x86 Firecracker has no ACPI: after a poweroff the vCPUs halt and the process stays.
        if how == "poweroff":
            if has_serial_console(self.cmdline()):
                guest_print("[    9.876543] reboot: Power down")
            warn("the guest powered off; Firecracker stays, as on x86")
        elif how == "reboot":
            self.reset()

    def ctrl_alt_del(self):
        if behaviour().get("ignore-power"):
            warn("the guest ignores Ctrl-Alt-Del (ignore-power)")
            return
        # Firecracker has no ACPI: the guest takes Ctrl-Alt-Del for a reboot, and only
        # reboot=k makes that a reset through the i8042, which ends Firecracker.
        stop_guest()
        self.reset()

    def reset(self):
        if "reboot=k" not in self.cmdline().split():
            warn("the guest reboots, but without reboot=k on its command line never resets: "
                 "Firecracker keeps running")
            return
        if has_serial_console(self.cmdline()):
            guest_print(f"{PREFIX}: guest rebooting")
        finish_later(0)

    # The API

    def info(self):
        return {"app_name": "Firecracker", "id": "anonymous-instance", "state": self.state,
                "vmm_version": FC_VERSION}

    def handle(self, method, path, body):
        try:
            return self.dispatch(method, path, body)
        except Fault as e:
            return 400, {"fault_message": str(e)}, None

    def dispatch(self, method, path, body):
        if method == "GET":
            if path == "/":
                return 200, self.info(), None
            if path == "/version":
                return 200, {"firecracker_version": FC_VERSION}, None
            if path == "/vm/config":
                return 200, self.config, None
            if path == "/machine-config":
                default = {"vcpu_count": 1, "mem_size_mib": 128, "smt": False, "track_dirty_pages": False}
                return 200, self.config.get("machine-config", default), None
        elif method == "PATCH" and path == "/vm":
            return self.patch_vm(fc_parse_body("vm", body))
        elif method == "PUT":
            if path == "/actions":
                return self.action(fc_parse_body("actions", body))
            if path == "/snapshot/create":
                return self.snapshot_create(fc_parse_body("snapshot-create", body))
            if path == "/snapshot/load":
                return self.snapshot_load(fc_parse_body("snapshot-load", body))
            preboot = self.preboot(path, body)
            if preboot:
                return preboot
        raise Fault(f"Invalid request method and/or path: {method} {path}.")

    def preboot(self, path, body):
        setters = {"/boot-source": ("boot-source", self.set_boot_source),
                   "/machine-config": ("machine-config", self.set_machine_config),
                   "/vsock": ("vsock", self.set_vsock),
                   "/logger": ("logger", self.set_logger),
                   "/metrics": ("metrics", self.set_metrics),
                   "/entropy": ("entropy", self.set_entropy)}
        m = re.match(r"^/(drives|network-interfaces)/([^/]+)$", path)
        if path not in setters and not m:
            return None
        kind = m.group(1) if m else setters[path][0]
        obj = fc_parse_body(kind, body)
        if self.state != "Not started":
            raise Fault("The requested operation is not supported after starting the microVM.")
        if m:
            id_key = "drive_id" if kind == "drives" else "iface_id"
            if obj[id_key] != m.group(2):
                raise Fault(f"The id from the path [{m.group(2)}] does not match the id from the body "
                            f"[{obj[id_key]}]!")
            (self.set_drive if kind == "drives" else self.set_nic)(obj)
        else:
            setters[path][1](obj)
        return 204, None, None

    def patch_vm(self, obj):
        if obj["state"] not in ("Paused", "Resumed"):
            raise Fault(f"An error occurred when deserializing the json body of a request: unknown variant "
                        f"`{obj['state']}`, expected `Paused` or `Resumed`.")
        if self.state == "Not started":
            raise Fault("The requested operation is not supported before starting the microVM.")
        if obj["state"] == "Paused":
            self.state = "Paused"
        else:
            self.state = "Running"
            if self.reboot_pending:
                self.reboot_pending = False
                self.ctrl_alt_del()
        return 204, None, None

    def action(self, obj):
        a = obj["action_type"]
        if a == "InstanceStart":
            if self.state != "Not started" or self.loaded:
                raise Fault("The requested operation is not supported after starting the microVM.")
            if "boot-source" not in self.config:
                raise Fault("Cannot start microvm without kernel configuration.")
            self.boot()
            return 204, None, None
        if a == "SendCtrlAltDel":
            if self.state == "Not started":
                raise Fault("The requested operation is not supported before starting the microVM.")
            if self.state == "Paused":
                # The key presses wait in the i8042 until the vCPUs run again.
                self.reboot_pending = True
            else:
                self.ctrl_alt_del()
            return 204, None, None
        if a == "FlushMetrics":
            if "metrics" not in self.config:
                raise Fault("Failed to flush metrics: the metrics system is not initialized.")
            return 204, None, None
        raise Fault(f"An error occurred when deserializing the json body of a request: unknown variant "
                    f"`{a}`, expected one of `FlushMetrics`, `InstanceStart`, `SendCtrlAltDel`.")

    def snapshot_create(self, obj):
        if obj.get("snapshot_type") not in (None, "Full", "Diff"):
            raise Fault(f"An error occurred when deserializing the json body of a request: unknown variant "
                        f"`{obj['snapshot_type']}`, expected `Full` or `Diff`.")
        if self.state == "Not started":
            raise Fault("The requested operation is not supported before starting the microVM.")
        if self.state != "Paused":
            raise Fault("Cannot create snapshot: the microVM is not paused.")
        snapshot = {"magic": SNAPSHOT_MAGIC, "hypervisor": "firecracker", "vmm_version": FC_VERSION,
                    "snapshot_type": obj.get("snapshot_type") or "Full", "state": self.state,
                    "config": self.config, "config_file": self.config_text}
        try:
            with open(obj["snapshot_path"], "w") as f:
                json.dump(snapshot, f, indent=1)
                f.write("\n")
        except OSError as e:
            raise Fault(f"Cannot save the microVM state: {os_error_text(e)}")
        try:
            write_memory_file(obj["mem_file_path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC)
        except OSError as e:
            raise Fault(f"Cannot save the memory snapshot: {os_error_text(e)}")
        return 204, None, None

    def snapshot_load(self, obj):
        backend = obj.get("mem_backend")
        if backend is not None:
            try:
                fc_check_object("mem_backend", backend)
            except Fault as e:
                raise Fault(f"An error occurred when deserializing the json body of a request: {e}.")
        if (backend is None) == (obj.get("mem_file_path") is None):
            raise Fault("An error occurred when deserializing the json body of a request: exactly one of "
                        "mem_backend and mem_file_path is needed.")
        overrides = obj.get("network_overrides") or []
        try:
            for o in overrides:
                fc_check_object("network_overrides", o)
            if obj.get("vsock_override") is not None:
                fc_check_object("vsock_override", obj["vsock_override"])
        except Fault as e:
            raise Fault(f"An error occurred when deserializing the json body of a request: {e}.")
        if self.config_path is not None or self.state != "Not started" or self.loaded or \
                any(k not in ("logger", "metrics") for k in self.config):
            raise Fault("Loading a microVM snapshot not allowed after configuring boot-specific resources.")

        # From here on a failure ends the process, as a failed load ends Firecracker.
        try:
            return self.load(obj, backend, overrides)
        except Fault as e:
            warn(f"snapshot load failed, exiting: {e}")
            return 400, {"fault_message": f"Load snapshot error: {e}"}, lambda: finish(1)

    def load(self, obj, backend, overrides):
        spath = obj["snapshot_path"]
        if backend is not None:
            if backend["backend_type"] != "File":
                raise Fault(f"memory backend {backend['backend_type']} is not supported here")
            mpath = backend["backend_path"]
        else:
            mpath = obj["mem_file_path"]
        try:
            with open(spath) as f:
                snapshot = json.load(f)
        except (OSError, ValueError) as e:
            raise Fault(f"Cannot open or read the microVM state file '{spath}': {e}")
        if not isinstance(snapshot, dict) or snapshot.get("magic") != SNAPSHOT_MAGIC or \
                snapshot.get("hypervisor") != "firecracker":
            raise Fault(f"'{spath}' is not a microVM state file of this Firecracker")
        if not os.path.isfile(mpath):
            raise Fault(f"Cannot open the memory file '{mpath}': No such file or directory (os error 2)")
        config = snapshot.get("config") or {}
        for d in config.get("drives", []):
            p = d.get("path_on_host")
            if p is not None and not os.path.exists(p):
                raise Fault(f"Cannot restore devices: unable to open the block device backing file '{p}': "
                            f"No such file or directory (os error 2)")
        for o in overrides:
            nics = [n for n in config.get("network-interfaces", []) if n["iface_id"] == o["iface_id"]]
            if not nics:
                raise Fault(f"Invalid network override: no interface '{o['iface_id']}' in the snapshot")
            nics[0]["host_dev_name"] = o["host_dev_name"]
        if config.get("vsock"):
            if obj.get("vsock_override"):
                config["vsock"]["uds_path"] = obj["vsock_override"]["uds_path"]
            self.bind_vsock(config["vsock"]["uds_path"])
        self.config.update(config)
        self.config_text = snapshot.get("config_file")
        self.loaded = True
        self.state = "Running" if obj.get("resume_vm") else "Paused"
        guest_print(f"{PREFIX}: restored from {spath}")
        start_guest(self.guest_ended)
        return 204, None, None


def fc_bad_request(message):
    return 400, {"fault_message": message}


def fc_main(argv):
    # Firecracker's own options: those that take a value, the others are flags.
    with_value = {"api-sock", "id", "seccomp-filter", "start-time-us", "start-time-cpu-us",
                  "parent-cpu-time-us", "config-file", "metadata", "log-path", "level", "module",
                  "metrics-path", "describe-snapshot", "http-api-max-payload-size", "mmds-size-limit"}
    flags = {"no-seccomp", "no-api", "show-level", "show-log-origin", "boot-timer", "version",
             "snapshot-version", "enable-pci", "help"}
    opts = {}
    i = 1
    while i < len(argv):
        a = argv[i]
        name, eq, value = a[2:].partition("=") if a.startswith("--") else (None, "", "")
        if name in with_value:
            if not eq:
                if i + 1 >= len(argv):
                    opts["error"] = f"Arguments parsing error: the argument '--{name}' requires a value."
                    break
                value = argv[i + 1]
                i += 1
            opts[name] = value
        elif name in flags:
            opts[name] = True
        elif name:
            warn(f"ignoring the option --{name}")
            if not eq and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                i += 1
        else:
            warn(f"ignoring the argument '{a}'")
        i += 1
    if opts.get("version") or opts.get("help"):
        print(f"Firecracker v{FC_VERSION}\n", flush=True)
        finish(0)
    return opts


def fc_run(opts):
    api_sock = opts.get("api-sock", "/run/firecracker.socket")
    fc = Firecracker(api_sock, opts.get("config-file"))
    if fc.config_path is not None:
        try:
            with open(fc.config_path) as f:
                fc.config_text = f.read()
        except OSError as e:
            die(f"Unable to open or read from the configuration file: {os_error_text(e)}")

    startup_delay()

    # Firecracker never removes a socket: a path that exists, stale or not, is refused.
    try:
        listener = bind_unix(api_sock)
    except OSError as e:
        die(f"Error creating the HTTP server: IO error: {os_error_text(e)}")

    if fc.config_text is not None:
        try:
            with state_lock:
                fc.load_config_file()
                fc.boot()
        except Fault as e:
            die(f"Configuration for VMM from one single json failed: {e}")
    HttpServer(listener, fc.handle, fc_bad_request).run()


# cloud-hypervisor

CH_SINGLE = {"api-socket", "balloon", "cmdline", "console", "cpus", "dbus-object-path", "dbus-service-name",
             "debug-console", "event-monitor", "firmware", "fw-cfg-config", "gdb", "host-data", "igvm",
             "initramfs", "ivshmem", "kernel", "log-file", "memory", "platform", "restore", "rng", "seccomp",
             "serial", "tpm", "vsock"}
CH_MULTI = {"device", "disk", "fs", "generic-vhost-user", "landlock-rules", "memory-zone", "net", "numa",
            "pci-segment", "pmem", "rate-limit-group", "user-device", "vdpa"}
CH_FLAGS = {"dbus-system-bus", "help", "landlock", "no-shutdown", "pvmemcontrol", "pvpanic", "version",
            "watchdog"}
# clap's groups: any option of the VM's configuration needs a payload (--kernel, --firmware, ...).
CH_VM_CONFIG = {"balloon", "cmdline", "console", "cpus", "debug-console", "device", "disk", "fs",
                "generic-vhost-user", "host-data", "initramfs", "ivshmem", "landlock", "landlock-rules",
                "memory", "memory-zone", "net", "numa", "pci-segment", "platform", "pmem", "pvmemcontrol",
                "pvpanic", "rate-limit-group", "rng", "serial", "tpm", "user-device", "vdpa", "vsock",
                "watchdog"}
CH_PAYLOAD = {"firmware", "fw-cfg-config", "igvm", "kernel"}


def ch_error(status, *messages):
    return status, list(messages), None


def ch_options(text, what):
    """cloud-hypervisor's option syntax: key=value,key=value; a value holding ',' is in "…"."""
    parts, cur, quoted = [], "", False
    for c in text:
        if c == '"':
            quoted = not quoted
        elif c == "," and not quoted:
            parts.append(cur)
            cur = ""
            continue
        cur += c
    if quoted:
        raise Fault(f"Error parsing --{what}: unbalanced quotes in '{text}'")
    parts.append(cur)
    out = {}
    for p in parts:
        if not p:
            continue
        k, eq, v = p.partition("=")
        out[k] = v.replace('"', "") if eq else None
    return out


def ch_bool(value, key, what):
    if value in ("on", "true"):
        return True
    if value in ("off", "false"):
        return False
    raise Fault(f"Error parsing --{what}: invalid value '{value}' for {key}: expected on, off, true or false")


def ch_size(value, what):
    m = re.match(r"^(\d+)([KMG]?)$", value or "")
    if not m:
        raise Fault(f"Error parsing --{what}: invalid size '{value}'")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def ch_parse_argv(argv):
    opts = {}
    verbose = 0
    i = 1
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and len(a) > 2:
            name, eq, value = a[2:].partition("=")
            i += 1
            if name in CH_FLAGS:
                if eq:
                    raise Fault(f"unexpected value '{value}' for '--{name}' found; no more were expected")
                opts[name] = True
            elif name in CH_SINGLE:
                if name in opts:
                    raise Fault(f"the argument '--{name} <{name}>' cannot be used multiple times")
                if not eq:
                    if i >= len(argv) or (argv[i].startswith("-") and len(argv[i]) > 1):
                        raise Fault(f"a value is required for '--{name} <{name}>' but none was supplied")
                    value = argv[i]
                    i += 1
                opts[name] = value
            elif name in CH_MULTI:
                values = [value] if eq else []
                while i < len(argv) and not (argv[i].startswith("-") and len(argv[i]) > 1):
                    values.append(argv[i])
                    i += 1
                if not values:
                    raise Fault(f"a value is required for '--{name} <{name}>...' but none was supplied")
                opts.setdefault(name, []).extend(values)
            else:
                raise Fault(f"unexpected argument '--{name}' found")
        elif re.match(r"^-v+$", a):
            verbose += len(a) - 1
            i += 1
        elif a in ("-V", "-h"):
            opts["version" if a == "-V" else "help"] = True
            i += 1
        else:
            raise Fault(f"unexpected argument '{a}' found")
    opts["v"] = verbose
    return opts


def ch_vm_config(opts):
    """The VM's configuration from the command line, checked as cloud-hypervisor checks it when it
    parses it; files and sockets are looked at when the VM is created."""
    config = {"payload": {"kernel": opts["kernel"]}}
    if "firmware" in opts or "igvm" in opts:
        raise Fault("only --kernel payloads are supported here")
    for key in ("initramfs", "cmdline"):
        if key in opts:
            config["payload"][key] = opts[key]

    cpus = ch_options(opts.get("cpus", "boot=1"), "cpus")
    try:
        boot = int(cpus.get("boot") or 1)
        maximum = int(cpus.get("max") or boot)
    except ValueError:
        raise Fault(f"Error parsing --cpus: invalid vCPU count in '{opts['cpus']}'")
    if boot < 1 or maximum < boot:
        raise Fault(f"Error parsing --cpus: invalid vCPU count in '{opts['cpus']}'")
    config["cpus"] = {"boot_vcpus": boot, "max_vcpus": maximum}

    memory = ch_options(opts.get("memory", "size=512M"), "memory")
    config["memory"] = {"size": ch_size(memory.get("size") or "512M", "memory")}

    disks = []
    for value in opts.get("disk", []):
        d = ch_options(value, "disk")
        vhost = ch_bool(d["vhost_user"], "vhost_user", "disk") if "vhost_user" in d else False
        if not d.get("path") and not vhost:
            raise Fault(f"Error parsing --disk: a path is needed: '{value}'")
        readonly = ch_bool(d["readonly"], "readonly", "disk") if "readonly" in d else False
        if d.get("image_type") not in (None, "raw", "qcow2", "vhd", "vhdx", "fixed_vhd"):
            raise Fault(f"Error parsing --disk: invalid image_type '{d['image_type']}'")
        disks.append({"path": d.get("path"), "readonly": readonly, "image_type": d.get("image_type"),
                      "direct": ch_bool(d["direct"], "direct", "disk") if "direct" in d else False})
    config["disks"] = disks

    nets = []
    for value in opts.get("net", []):
        n = ch_options(value, "net")
        mac = n.get("mac")
        if mac and not FC_MAC.match(mac):
            raise Fault(f"Error parsing --net: invalid MAC address '{mac}'")
        nets.append({"tap": n.get("tap"), "mac": mac})
    config["net"] = nets

    if "vsock" in opts:
        v = ch_options(opts["vsock"], "vsock")
        try:
            cid = int(v.get("cid") or "")
        except ValueError:
            raise Fault(f"Error parsing --vsock: cid is missing or invalid: '{opts['vsock']}'")
        if cid < 3 or not v.get("socket"):
            raise Fault(f"Error parsing --vsock: a cid of 3 or more and a socket are needed: "
                        f"'{opts['vsock']}'")
        config["vsock"] = {"cid": cid, "socket": v["socket"]}

    serial = opts.get("serial", "null")
    if serial in ("off", "null", "tty", "pty"):
        config["serial"] = {"mode": serial.capitalize()}
    else:
        s = ch_options(serial, "serial")
        if s.get("socket"):
            config["serial"] = {"mode": "Socket", "socket": s["socket"]}
        elif s.get("file"):
            config["serial"] = {"mode": "File", "file": s["file"]}
        else:
            raise Fault(f"Error parsing --serial: invalid value '{serial}'")

    console = opts.get("console", "tty")
    mode = console.split(",")[0]
    if mode in ("off", "null", "pty") or mode.startswith("file="):
        config["console"] = {"mode": mode.split("=")[0].capitalize()}
    elif mode == "tty":
        # The default: under systemd there is no terminal.
        raise Fault("console tty needs a terminal: cloud-hypervisor's default --console tty fails without "
                    "one (pass --console off)")
    elif mode.startswith("socket="):
        raise Fault("Error booting VM: the virtio console cannot be a socket; only --serial takes socket=")
    else:
        raise Fault(f"Error parsing --console: invalid value '{console}'")
    return config


def ofd_lock(fd, exclusive):
    lock_type = fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", lock_type, os.SEEK_SET, 0, 0, 0))


class SerialListener:
    """The serial port on a socket that cloud-hypervisor binds and microvm connects to."""

    def __init__(self, path, vm):
        self.path = path
        self.vm = vm
        self.sock = bind_unix(path)
        self.clients = set()
        spawn(self.run)

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            spawn(self.handle, conn)

    def handle(self, conn):
        self.clients.add(conn)
        try:
            payload = self.vm["config"].get("payload") or {}
            if has_serial_console(payload.get("cmdline")):
                lines = boot_lines(payload.get("kernel"), payload["cmdline"])
                conn.sendall("".join(line + "\r\n" for line in lines).encode())
                # The guest's tty echoes what is typed.
                while True:
                    data = conn.recv(4096)
                    if not data:
                        break
                    conn.sendall(data)
            else:
                while conn.recv(4096):
                    pass
        except OSError:
            pass
        finally:
            self.clients.discard(conn)
            conn.close()

    def broadcast(self, line):
        for c in list(self.clients):
            try:
                c.sendall((line + "\r\n").encode())
            except OSError:
                pass

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        # cloud-hypervisor removes its serial socket when the VM goes.
        try:
            os.unlink(self.path)
        except OSError:
            pass
        if self.path in cleanup_paths:
            cleanup_paths.remove(self.path)
        for c in list(self.clients):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class CloudHypervisor:
    BODYLESS = {"vm.boot", "vm.delete", "vm.pause", "vm.resume", "vm.power-button", "vm.reboot",
                "vm.shutdown", "vm.nmi", "vmm.shutdown"}

    def __init__(self, no_shutdown):
        self.no_shutdown = no_shutdown
        self.vm = None  # {"config", "state", "serial", "vsock", "locks", "power_pending"}

    def create_vm(self, config, state):
        """Acquires what the VM's devices need, as cloud-hypervisor does when it creates a VM."""
        vm = {"config": config, "state": state, "serial": None, "vsock": None, "locks": [],
              "power_pending": False}
        try:
            payload = config.get("payload") or {}
            for key in ("kernel", "initramfs"):
                p = payload.get(key)
                if p is not None and not os.path.isfile(p):
                    raise Fault(f"Error booting VM: cannot open the {key} '{p}': No such file or directory "
                                f"(os error 2)")
            for d in config.get("disks", []):
                if d.get("path") is None:
                    continue
                try:
                    fd = os.open(d["path"], (os.O_RDONLY if d["readonly"] else os.O_RDWR) | os.O_CLOEXEC)
                except OSError as e:
                    raise Fault(f"Error booting VM: failed to open disk image '{d['path']}': "
                                f"{os_error_text(e)}")
                vm["locks"].append(fd)
                try:
                    ofd_lock(fd, exclusive=not d["readonly"])
                except OSError:
                    raise Fault(f"Error booting VM: the disk image '{d['path']}' is locked by another "
                                f"process ({'read' if d['readonly'] else 'write'} lock)")
                if d.get("image_type") is None:
                    warn(f"WARN: Autodetected raw image type for '{d['path']}'. Assuming it is a raw image; "
                         f"writes to sector 0 are blocked (pass image_type=raw)")
            serial = config.get("serial") or {}
            if serial.get("mode") == "Socket":
                try:
                    vm["serial"] = SerialListener(serial["socket"], vm)
                except OSError as e:
                    raise Fault(f"Error booting VM: cannot bind the serial socket '{serial['socket']}': "
                                f"{os_error_text(e)}")
                cleanup_paths.append(serial["socket"])
            elif serial.get("mode") == "File":
                try:
                    with open(serial["file"], "w"):
                        pass
                except OSError as e:
                    raise Fault(f"Error booting VM: cannot create the serial file: {os_error_text(e)}")
            vsock = config.get("vsock")
            if vsock:
                try:
                    vm["vsock"] = VsockListener(vsock["socket"])
                except OSError as e:
                    raise Fault(f"Error booting VM: cannot bind the vsock socket '{vsock['socket']}': "
                                f"{os_error_text(e)}")
        except Fault:
            # Nothing of a VM that could not be created stays behind, its vsock socket neither.
            if vm["vsock"]:
                try:
                    os.unlink(vm["vsock"].path)
                except OSError:
                    pass
            self.release(vm)
            raise
        return vm

    def release(self, vm):
        if vm["serial"]:
            vm["serial"].close()
        if vm["vsock"]:
            vm["vsock"].close()
        for fd in vm["locks"]:
            os.close(fd)
        vm["serial"] = vm["vsock"] = None
        vm["locks"] = []

    def boot(self, config):
        self.vm = self.create_vm(config, "Running")
        self.show_boot()
        start_guest(self.guest_ended)

    def guest_ended(self, how):
        if how == "poweroff":
            self.guest_line("[    9.876543] reboot: Power down")
            self.powered_off()
        elif how == "reboot":
            # cloud-hypervisor restarts the VM in the same process.
            self.guest_line("[    9.876543] reboot: Restarting system")
            self.show_boot()
            start_guest(self.guest_ended)

    def powered_off(self):
        if self.no_shutdown:
            self.vm["state"] = "Shutdown"
            return
        finish_later(0)

    def show_boot(self):
        payload = self.vm["config"].get("payload") or {}
        serial = self.vm["config"].get("serial", {})
        cmdline = payload.get("cmdline", "")
        if not has_serial_console(cmdline):
            warn("the guest has no serial console (no console=ttyS0 on its command line): it prints nothing")
            return
        lines = boot_lines(payload["kernel"], cmdline)
        if serial.get("mode") == "Tty":
            for line in lines:
                guest_print(line)
        elif serial.get("mode") == "File":
            with open(serial["file"], "a") as f:
                f.write("".join(line + "\r\n" for line in lines))

    def cmdline(self):
        return (self.vm["config"].get("payload") or {}).get("cmdline") or ""

    def guest_line(self, line):
        if self.vm and self.vm["serial"] and has_serial_console(self.cmdline()):
            self.vm["serial"].broadcast(line)

    def power_button(self):
        if behaviour().get("ignore-power"):
            warn("the guest ignores the power button (ignore-power)")
            return
        if "acpi=off" in self.cmdline().split():
            warn("the guest has no ACPI (acpi=off) and ignores the power button")
            return
        self.guest_line(f"{PREFIX}: guest powering off")
        stop_guest()
        self.powered_off()

    def restore(self, opts):
        """vm.restore and --restore; raises Fault and leaves no VM on failure."""
        url = opts.get("source_url")
        if not isinstance(url, str) or not url.startswith("file://"):
            raise Fault(f"Error restoring VM: only file:// source URLs are supported: {url!r}")
        d = url[len("file://"):]
        try:
            with open(os.path.join(d, "state.json")) as f:
                state = json.load(f)
            with open(os.path.join(d, "config.json")) as f:
                config = json.load(f)
        except (OSError, ValueError) as e:
            raise Fault(f"Error restoring VM: cannot read the snapshot in '{d}': {e}")
        if not os.path.isfile(os.path.join(d, "memory-ranges")):
            raise Fault(f"Error restoring VM: '{d}/memory-ranges' is missing")
        if not isinstance(state, dict) or state.get("magic") != SNAPSHOT_MAGIC or \
                state.get("hypervisor") != "cloud-hypervisor" or not isinstance(config, dict):
            raise Fault(f"Error restoring VM: '{d}/state.json' is not a snapshot of this cloud-hypervisor")
        config.pop("magic", None)
        resume = opts.get("resume", False)
        self.vm = self.create_vm(config, "Running" if resume else "Paused")
        warn(f"restored from {url}")
        start_guest(self.guest_ended)

    # The API

    def handle(self, method, path, body):
        try:
            return self.dispatch(method, path, body)
        except Fault as e:
            return ch_error(500, "Error from API", str(e))

    def dispatch(self, method, path, body):
        if not path.startswith("/api/v1/"):
            return ch_error(404, "Not Found")
        op = path[len("/api/v1/"):]
        if op in ("vmm.ping", "vm.info"):
            if method != "GET":
                return ch_error(400, "Bad Request")
            if op == "vmm.ping":
                return 200, {"build_version": CH_BUILD_VERSION, "version": CH_VERSION, "pid": os.getpid(),
                             "features": ["kvm"]}, None
            if not self.vm:
                return ch_error(404, "Error from API", "The VM info is not available",
                                "The VM has not been created")
            return 200, {"config": {}, "state": self.vm["state"]}, None
        if op not in self.BODYLESS and op not in ("vm.snapshot", "vm.restore", "vm.create"):
            return ch_error(404, "Not Found")
        if method != "PUT":
            return ch_error(400, "Bad Request")
        if op in self.BODYLESS:
            if body is not None:
                return ch_error(400, "Bad Request")
            return self.action(op)
        if body is None:
            return ch_error(400, "Bad Request")
        try:
            obj = json.loads(body)
            if not isinstance(obj, dict):
                raise ValueError("expected a JSON object")
        except ValueError as e:
            return ch_error(400, "Cannot deserialize JSON", str(e))
        if op == "vm.snapshot":
            return self.snapshot(obj)
        if op == "vm.restore":
            return self.api_restore(obj)
        if self.vm:
            raise Fault("The VM could not be created: the VM is already created")
        self.vm = {"config": obj, "state": "Created", "serial": None, "vsock": None, "locks": [],
                   "power_pending": False}
        return 204, None, None

    def action(self, op):
        if op == "vmm.shutdown":
            if self.vm:
                self.release(self.vm)
            return 200, None, lambda: finish(0)
        vm = self.vm
        if not vm:
            return ch_error(404, "Error from API", "The VM has not been created")
        state = vm["state"]
        if op == "vm.pause":
            if state != "Running":
                raise Fault(f"The VM could not be paused: invalid VM state transition: {state} to Paused")
            vm["state"] = "Paused"
        elif op == "vm.resume":
            if state != "Paused":
                raise Fault(f"The VM could not be resumed: invalid VM state transition: {state} to Running")
            vm["state"] = "Running"
            if vm["power_pending"]:
                vm["power_pending"] = False
                self.power_button()
        elif op == "vm.power-button":
            if state == "Paused":
                # The ACPI event waits until the vCPUs run again.
                vm["power_pending"] = True
            elif state == "Running":
                self.power_button()
            else:
                raise Fault(f"Error activating the power button: the VM is {state}")
        elif op == "vm.shutdown":
            if state == "Shutdown":
                raise Fault("The VM could not be shut down: invalid VM state transition: Shutdown to "
                            "Shutdown")
            vm["state"] = "Shutdown"
        elif op == "vm.boot":
            if state not in ("Created", "Shutdown"):
                raise Fault(f"The VM could not be booted: the VM is already {state}")
            vm["state"] = "Running"
        elif op == "vm.reboot":
            if state != "Running":
                raise Fault(f"The VM could not be rebooted: the VM is {state}")
            self.guest_line(f"{PREFIX}: guest rebooting")
        elif op == "vm.delete":
            self.release(vm)
            self.vm = None
        elif op == "vm.nmi":
            if state != "Running":
                raise Fault(f"Error triggering NMI: the VM is {state}")
        return 204, None, None

    def snapshot(self, obj):
        url = obj.get("destination_url")
        if not self.vm:
            return ch_error(404, "Error from API", "The VM has not been created")
        if self.vm["state"] != "Paused":
            raise Fault(f"The VM could not be snapshotted: the VM is {self.vm['state']}, not Paused")
        if not isinstance(url, str) or not url.startswith("file://"):
            raise Fault(f"The VM could not be snapshotted: unsupported destination URL {url!r}")
        d = url[len("file://"):]
        if not os.path.isdir(d):
            raise Fault(f"The VM could not be snapshotted: '{d}' is not a directory")
        files = [("config.json", json.dumps(dict(self.vm["config"], magic=SNAPSHOT_MAGIC), indent=1)),
                 ("state.json", json.dumps({"magic": SNAPSHOT_MAGIC, "hypervisor": "cloud-hypervisor",
                                            "version": CH_VERSION, "state": self.vm["state"]}, indent=1)),
                 ("memory-ranges", None)]
        for name, text in files:
            p = os.path.join(d, name)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            try:
                if text is None:
                    write_memory_file(p, flags)
                else:
                    fd = os.open(p, flags, 0o600)
                    with os.fdopen(fd, "w") as f:
                        f.write(text + "\n")
            except OSError as e:
                raise Fault(f"The VM could not be snapshotted: cannot create '{p}': {os_error_text(e)}")
        return 204, None, None

    def api_restore(self, obj):
        if self.vm:
            raise Fault("The VM could not be restored: a VM is already created")
        if "resume" in obj and not isinstance(obj["resume"], bool):
            return ch_error(400, "Cannot deserialize JSON", "invalid type for `resume`: expected a boolean")
        self.restore(obj)
        return 204, None, None


def ch_bad_request(message):
    return 400, ["Bad Request", message]


def ch_run(opts):
    def terminate(signum, frame):
        finish(0)

    # cloud-hypervisor shuts down cleanly on SIGTERM and SIGINT.
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)

    no_shutdown = bool(opts.get("no-shutdown"))
    ch = CloudHypervisor(no_shutdown)

    api_path, api_fd = None, None
    if "api-socket" in opts:
        a = ch_options(opts["api-socket"], "api-socket")
        if a.get("fd"):
            try:
                api_fd = int(a["fd"])
            except ValueError:
                die("Error parsing --api-socket: invalid digit found in string")
        elif a.get("path"):
            api_path = a["path"]
        else:
            api_path = opts["api-socket"]

    try:
        payload = any(k in opts for k in CH_PAYLOAD)
        if not payload and any(k in opts for k in CH_VM_CONFIG):
            given = ", ".join(f"--{k}" for k in sorted(CH_VM_CONFIG) if k in opts)
            raise Fault(f"the following required arguments were not provided: --kernel (or another payload); "
                        f"{given} need one (with --restore, the VM's configuration is the snapshot's)")
        config = ch_vm_config(opts) if payload else None
        restore = None
        if not payload and "restore" in opts:
            restore = ch_options(opts["restore"], "restore")
            if not restore.get("source_url"):
                raise Fault("Error parsing --restore: source_url is missing")
            resume = restore.get("resume")
            restore["resume"] = ch_bool(resume, "resume", "restore") if resume is not None else False
    except Fault as e:
        die(f"Cloud Hypervisor exited with the following error:\n  {e}")

    startup_delay()

    listener = None
    if api_fd is not None:
        listener = socket.socket(fileno=api_fd)
        listener.listen(16)
    elif api_path is not None:
        # A stale socket of an earlier run is removed, as cloud-hypervisor does.
        try:
            os.unlink(api_path)
        except FileNotFoundError:
            pass
        except OSError as e:
            die(f"Error removing the stale API socket '{api_path}': {os_error_text(e)}")
        try:
            listener = bind_unix(api_path)
        except OSError as e:
            die(f"Failed to start the VMM thread: cannot bind the API socket '{api_path}': "
                f"{os_error_text(e)}")
        cleanup_paths.append(api_path)

    with state_lock:
        try:
            if config is not None:
                ch.boot(config)
            elif restore is not None:
                ch.restore(restore)
        except Fault as e:
            die(f"Cloud Hypervisor exited with the following error:\n  {e}")

    if listener is None:
        while True:
            signal.pause()
    HttpServer(listener, ch.handle, ch_bad_request).run()


def main():
    global PROGRAM, PREFIX, state_dir
    name = os.path.basename(sys.argv[0])
    if "firecracker" in name:
        PROGRAM = "firecracker"
    elif "cloud-hypervisor" in name:
        PROGRAM = "cloud-hypervisor"
    else:
        print(f"{name}: run me through a link named firecracker or cloud-hypervisor", file=sys.stderr)
        sys.exit(2)
    PREFIX = f"fake-{PROGRAM}"

    # Several directories are separated by ':'; the first is this unit's.
    state_dir = (os.environ.get("STATE_DIRECTORY") or "").split(":")[0] or os.getcwd()

    if PROGRAM == "firecracker":
        # Firecracker installs no handler: SIGTERM and SIGINT kill it.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        opts = fc_main(sys.argv)
    else:
        try:
            opts = ch_parse_argv(sys.argv)
        except Fault as e:
            opts = {"error": str(e)}
        if len(sys.argv) == 1 or opts.get("help"):
            print("Launch a cloud-hypervisor VMM.", file=sys.stderr)
            sys.exit(2)
        if opts.get("version"):
            print(f"cloud-hypervisor {CH_BUILD_VERSION}", flush=True)
            sys.exit(0)

    write_records()
    try:
        os.unlink(record_path("fake-config.json"))  # an earlier run's
    except FileNotFoundError:
        pass
    if PROGRAM == "firecracker" and opts.get("config-file"):
        try:
            with open(opts["config-file"], "rb") as src, open(record_path("fake-config.json"), "wb") as dst:
                dst.write(src.read())
        except OSError as e:
            warn(f"cannot copy the configuration file: {e}")

    status = behaviour().get("exit-on-start")
    if status is not None:
        try:
            status = int(status)
        except (TypeError, ValueError):
            die(f"exit-on-start {status!r} in fake-behaviour is not an integer", 2)
        print(f"{PREFIX}: exiting at once with status {status} (exit-on-start in fake-behaviour)",
              file=sys.stderr, flush=True)
        finish(status)

    if PROGRAM == "firecracker":
        if "error" in opts:
            die(opts["error"], 153)
        fc_run(opts)
    else:
        if "error" in opts:
            # As clap reports a bad command line.
            print(f"error: {opts['error']}", file=sys.stderr, flush=True)
            finish(1)
        # cloud-hypervisor makes everything it creates its user's only.
        os.umask(0o077)
        ch_run(opts)


if __name__ == "__main__":
    main()
