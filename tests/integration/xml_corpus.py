#!/usr/bin/env python3
"""xml_corpus.py: libvirt's own domain documents (tests/qemuxml2argvdata of
the libvirt release this host runs, from Debian's .orig tarball through the
mirror apt is configured with) made into a corpus for test_20_xml_corpus.sh.
Not part of virtform: nothing from the tarball is committed; it is fetched
and cached under CACHE at test time.

  xml_corpus.py fetch CACHE VERSION         -> prints the tarball path
  xml_corpus.py candidates TARBALL OUTDIR DTYPE
      every document, rewritten: <name> is @NAME@, the domain's own <uuid>
      goes (virtform derives one; so does SMBIOS's copy of it), disk sources and NVRAM files move under
      /nonexistent/@NAME@/ (never a real file), type is DTYPE
  xml_corpus.py select DIR ACCEPTED N      -> prints N names, varied
"""
import glob
import os
import re
import subprocess
import sys
import tarfile

FEATURES = {
    "numa": r"<numa>",
    "hugepages": r"<hugepages",
    "iothreads": r"<iothreads>",
    "tpm": r"<tpm ",
    "watchdog": r"<watchdog ",
    "rng": r"<rng ",
    "usb": r"type=['\"]usb['\"]|bus=['\"]usb['\"]",
    "video": r"<video>",
    "sound": r"<sound ",
    "pcie-root-port": r"pcie-root-port",
    "disk-throttling": r"<iotune>",
    "multiple-nics": None,  # two or more <interface>
    "q35": r"machine=['\"][^'\"]*q35",
    "i440fx": r"machine=['\"](pc|pc-i440fx[^'\"]*|pc-\d[^'\"]*)['\"]",
}


def mirror():
    """The first non-security Debian URI apt is configured with."""
    uris = []
    for f in glob.glob("/etc/apt/sources.list.d/*.sources"):
        for line in open(f):
            if line.startswith("URIs:"):
                uris += line.split()[1:]
    for f in ["/etc/apt/sources.list"] + glob.glob("/etc/apt/sources.list.d/*.list"):
        if os.path.exists(f):
            for line in open(f):
                p = line.split()
                if p and p[0] == "deb":
                    uris += [w for w in p[1:] if "://" in w][:1]
    for u in uris:
        if "security" not in u:
            return u.rstrip("/")
    sys.exit("no Debian mirror in /etc/apt/sources.list*")


def fetch(cache, version):
    os.makedirs(cache, exist_ok=True)
    name = "libvirt_%s.orig.tar.xz" % version
    path = os.path.join(cache, name)
    if not os.path.exists(path):
        url = "%s/pool/main/libv/libvirt/%s" % (mirror(), name)
        subprocess.check_call(["curl", "-fsS", "--max-time", "300", "-o", path + ".part", url])
        os.rename(path + ".part", path)
    print(path)


def rewrite(text, dtype):
    text = re.sub(r"<name>[^<]*</name>", "<name>@NAME@</name>", text, count=1)
    text = re.sub(r"\s*<uuid>[^<]*</uuid>", "", text, count=1)
    # SMBIOS's UUID must equal the domain's, which is no longer given
    text = re.sub(r"\s*<entry name=['\"]uuid['\"]>[^<]*</entry>", "", text)
    text = re.sub(r"(<source\b[^>]*?\b(?:file|dev)=)(['\"])/", r"\1\2/nonexistent/@NAME@/", text)
    text = re.sub(r"(<nvram\b[^>]*>)/", r"\1/nonexistent/@NAME@/", text)
    text = re.sub(r"<domain\s+type=(['\"])(qemu|kvm)\1", "<domain type='%s'" % dtype, text, count=1)
    return text


def candidates(tarball, out, dtype):
    os.makedirs(out, exist_ok=True)
    n = 0
    with tarfile.open(tarball) as t:
        for m in t:
            if not re.search(r"/tests/qemuxml2argvdata/[^/]+\.xml$", m.name) or not m.isfile():
                continue
            text = t.extractfile(m).read().decode("utf-8", "replace")
            if "<domain" not in text or "<name>" not in text:
                continue
            base = os.path.basename(m.name)[:-4]
            with open(os.path.join(out, base + ".xml"), "w") as f:
                f.write(rewrite(text, dtype))
            n += 1
    print(n)


def has(text, feature):
    if feature == "multiple-nics":
        return text.count("<interface ") >= 2
    return re.search(FEATURES[feature], text) is not None


def select(d, accepted, n):
    names = sorted(l.strip() for l in open(accepted) if l.strip())
    texts = {b: open(os.path.join(d, b + ".xml")).read() for b in names}
    chosen = []
    # a few of each feature first, then fill in name order
    for f in FEATURES:
        k = 0
        for b in names:
            if k >= 6:
                break
            if has(texts[b], f):
                if b not in chosen:
                    chosen.append(b)
                k += 1
    for b in names:
        if len(chosen) >= n:
            break
        if b not in chosen:
            chosen.append(b)
    chosen = chosen[:n]
    counts = {f: sum(1 for b in chosen if has(texts[b], f)) for f in FEATURES}
    sys.stderr.write("# corpus: %d documents; %s\n" % (len(chosen), ", ".join("%s %d" % kv for kv in counts.items())))
    print("\n".join(chosen))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "fetch":
        fetch(sys.argv[2], sys.argv[3])
    elif cmd == "candidates":
        candidates(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "select":
        select(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: see the comment at the top")
