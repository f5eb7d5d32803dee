"""Stored results (``OUT/.cache``) that a kernel cannot forge, and the attempt counters of resume.

Every stored record is wrapped as ``{"record": ..., "hmac": ...}``: an HMAC-SHA256 over the
record's canonical JSON with a key kept in ``OUT/.cache/key`` (32 random bytes, mode 0600,
created on first use). Kernels never see the output folder (the sandbox does not bind it), so
they cannot read the key or write a record; a record whose HMAC does not verify is ignored
(and reported). A record is reused only for the file it claims to grade: its ``sha256`` must
be the submission's current content hash, its ``version`` the grader's current version (code,
specs, solutions notebook, limits) and its ``assignment`` the assignment the file name gives.

Attempt counters (a submission during which the grader died) are signed the same way and
count separately the attempts that ran alone and those that ran next to other submissions:
only a submission that stopped the grader while graded alone is blamed for it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from pathlib import Path

from course_lib.grading import report

__all__ = ["ResultCache", "KEY_BYTES"]

KEY_BYTES = 32


def _canonical(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


class ResultCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        self.key = self._key()

    def _key(self) -> bytes:
        path = self.folder / "key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size != KEY_BYTES:
                raise OSError(f"{path} is not a {KEY_BYTES}-byte key file of yours: delete it (stored "
                              "results are then graded again)") from None
            if st.st_mode & 0o077:
                os.chmod(path, 0o600)
            return path.read_bytes()
        key = os.urandom(KEY_BYTES)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key

    def _sign(self, kind: str, data) -> str:
        return hmac.new(self.key, kind.encode() + b"\0" + _canonical(data), hashlib.sha256).hexdigest()

    def _write(self, path: Path, kind: str, data) -> None:
        report.atomic_write(path, json.dumps({"record": data, "hmac": self._sign(kind, data)}, ensure_ascii=False))

    def _read(self, path: Path, kind: str):
        """The signed data at ``path``; ``None`` when absent; raises ``ValueError`` when forged."""
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ValueError(f"unreadable ({exc.strerror})") from None
        try:
            wrapped = json.loads(raw)
            data, mac = wrapped["record"], wrapped["hmac"]
        except (ValueError, KeyError, TypeError):
            raise ValueError("not a signed record") from None
        if type(mac) is not str or not hmac.compare_digest(mac, self._sign(kind, data)):
            raise ValueError("its signature does not match: forged, edited or from another output folder")
        return data

    # ------------------------------------------------------------ results

    def result_path(self, sha: str, version: str) -> Path:
        return self.folder / f"{sha[:32]}-{version[:16]}.json"

    def load(self, sha: str, version: str, assignment: str) -> dict | None:
        """The stored record for this exact file, grader version and assignment, or ``None``.
        Raises ``ValueError`` (with the reason) for a record that must not be trusted."""
        data = self._read(self.result_path(sha, version), "result")
        if data is None:
            return None
        if type(data) is not dict:
            raise ValueError("not a record")
        for field, want in (("sha256", sha), ("version", version), ("assignment", assignment)):
            if data.get(field) != want:
                raise ValueError(f"it was stored for another {field}")
        return data

    def store(self, record: dict) -> Path:
        path = self.result_path(record["sha256"], record["version"])
        self._write(path, "result", record)
        return path

    # ------------------------------------------------------------ attempts

    def _attempts_path(self, sha: str, version: str) -> Path:
        return self.result_path(sha, version).with_suffix(".attempts")

    def attempts(self, sha: str, version: str) -> dict[str, int]:
        """``{"alone": n, "shared": m}``: earlier runs of the grader that died while grading this
        file, by itself or next to others. Unsigned or forged counters count as none."""
        try:
            data = self._read(self._attempts_path(sha, version), "attempts")
        except ValueError:
            data = None
        if type(data) is not dict:
            return {"alone": 0, "shared": 0}
        return {k: int(data[k]) if type(data.get(k)) is int else 0 for k in ("alone", "shared")}

    def set_attempts(self, sha: str, version: str, counts: dict[str, int]) -> None:
        self._write(self._attempts_path(sha, version), "attempts", counts)

    def clear_attempts(self, sha: str, version: str) -> None:
        self._attempts_path(sha, version).unlink(missing_ok=True)
