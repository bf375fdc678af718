#!/usr/bin/python3
"""Write an OCI image archive (an OCI image layout in a tar) of one directory.

usage: mkimage.py OUT.tar REF ROOTDIR [--entrypoint JSON] [--cmd JSON] [--env JSON]

The archive is what `ctr images import` takes: oci-layout, index.json naming
the manifest REF in its org.opencontainers.image.ref.name annotation (a full
reference, so that ctr keeps it as it is), blobs/sha256/ with the manifest,
the config (linux/amd64, rootfs.diff_ids, Entrypoint, Cmd) and one gzip layer
of ROOTDIR, owned by root, with every time at 0 so that the same tree gives
the same digests. Python's standard library only.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def layer_tar(root):
    """The uncompressed layer: ROOTDIR's tree, sorted, root-owned, mtime 0."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                paths.append(os.path.join(dirpath, name))
        for path in sorted(paths, key=lambda p: os.path.relpath(p, root)):
            info = tar.gettarinfo(path, arcname=os.path.relpath(path, root))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return buf.getvalue()


def blob(blobs, data):
    digest = hashlib.sha256(data).hexdigest()
    blobs["blobs/sha256/" + digest] = data
    return "sha256:" + digest


def build(out, ref, root, entrypoint, cmd, env):
    blobs = {}
    raw = layer_tar(root)
    gz = gzip.compress(raw, mtime=0)
    layer = {"mediaType": OCI_LAYER_GZIP, "digest": blob(blobs, gz), "size": len(gz)}
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": env, "WorkingDir": "/"},
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
        "history": [{"created_by": "selftests/cri/mkimage.py"}],
    }
    if entrypoint:
        config["config"]["Entrypoint"] = entrypoint
    if cmd:
        config["config"]["Cmd"] = cmd
    cfg = json.dumps(config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": blob(blobs, cfg), "size": len(cfg)},
        "layers": [layer],
    }
    man = json.dumps(manifest, sort_keys=True).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": OCI_MANIFEST,
            "digest": blob(blobs, man),
            "size": len(man),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": ref},
        }],
    }
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
             "index.json": json.dumps(index, sort_keys=True).encode()}
    files.update(blobs)
    tmp = out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(files[name]), 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    os.rename(tmp, out)
    return manifest["config"]["digest"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("ref")
    ap.add_argument("root")
    ap.add_argument("--entrypoint", type=json.loads, default=None)
    ap.add_argument("--cmd", type=json.loads, default=None)
    ap.add_argument("--env", type=json.loads,
                    default=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    a = ap.parse_args()
    if not stat.S_ISDIR(os.stat(a.root).st_mode):
        ap.error(f"{a.root}: not a directory")
    print(build(a.out, a.ref, a.root, a.entrypoint, a.cmd, a.env))


if __name__ == "__main__":
    main()
