#!/usr/bin/env python3
"""Writes the binary-ish files of the sample hotfix packages/HF-7.0.3-0042.

The text files (properties, XML, SQL, release notes) are written by hand and committed
as they are; this script makes the files that stand in for build outputs: jars (real zip
files with fixed timestamps) and shared libraries (an ELF header followed by seeded
pseudo-random bytes, so they do not compress). Same script, same bytes.

The outputs are committed; nothing in CI runs this script.
"""
import os
import random
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "HF-7.0.3-0042")
FIXED = (2026, 11, 25, 0, 0, 0)


def noise(seed, n):
    r = random.Random(seed)
    return bytes(r.getrandbits(8) for _ in range(n))


def write(rel, data):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"{len(data):7d}  {rel}")


def jar(rel, title, version, classes):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        def add(name, data):
            info = zipfile.ZipInfo(name, FIXED)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)

        add("META-INF/MANIFEST.MF",
            "Manifest-Version: 1.0\r\n"
            f"Implementation-Title: {title}\r\n"
            f"Implementation-Version: {version}\r\n"
            "Implementation-Vendor: Example Contact Center Platform\r\n\r\n")
        for i, (name, size) in enumerate(classes):
            # A class file header, then bytes that look like a constant pool: not text.
            add(name, b"\xca\xfe\xba\xbe\x00\x00\x00\x37" + noise(f"{rel}:{i}", size))
    print(f"{os.path.getsize(path):7d}  {rel}")


def shared_object(rel, seed, size):
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x03\x00\x3e\x00\x01\x00\x00\x00"
    write(rel, elf + noise(seed, size - len(elf)))


jar("server/ChatServer/bin/chat-core.jar", "chat-core", "7.0.3.12", [
    ("com/example/chat/failover/MessageJournal.class", 5200),
    ("com/example/chat/failover/ResendQueue.class", 3900),
    ("com/example/chat/session/ChatSession.class", 7100),
])
shared_object("server/ChatServer/lib/libchatcodec.so", "libchatcodec", 24576)
jar("server/RoutingEngine/bin/routing-engine.jar", "routing-engine", "7.0.3.8", [
    ("com/example/routing/SkillMatcher.class", 6400),
    ("com/example/routing/ChatRouteSelector.class", 4100),
])
shared_object("server/RoutingEngine/lib/librouting.so", "librouting", 40960)
