"""``<state-dir>/customizations.yaml``: read, validate, update and write it back.

The file is the admin's as much as pfwizard's: they may edit it and add comments. ruamel.yaml's
round-trip mode keeps comments and order; pfwizard updates values in place and reuses the
existing entries of an operations list, so a comment next to an entry stays with it.

Schema (version 1)::

    version: 1                      # required
    miab_release: v75               # optional: MiaB release the bases come from
    chains:                         # restriction lists, as operations on MiaB's base
      smtpd_sender_restrictions:
        base: reject_non_fqdn_sender, reject_unknown_sender_domain, ...   # or null: not set
        operations:
          - insert: check_sender_access regexp:/etc/postfix/pfwizard/allow
            before: reject_unknown_sender_domain      # or after: ITEM, or at: start|end
            why: Cisco DMARC reporters have no DNS    # optional, on every entry
          - remove: ITEM
          - move: ITEM
            after: ITEM                               # or before: ITEM
          - change: reject_rbl_client zen.spamhaus.org
            to: reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]
          - remove: reject_rbl_client zen.spamhaus.org
            also_remove: reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]  # or keep: ...
          - insert: check_policy_service inet:127.0.0.1:12340
            before: reject_unlisted_recipient
            decided: keep-miab          # MiaB ships it elsewhere (or the anchor is gone)
    parameters:                     # whole values pfwizard set
      smtpd_helo_required:
        value: "yes"                # null: pfwizard removed the parameter
        base: null                  # optional: the value before (null: not set)
        # keep: "normalize"         # a decided conflict: MiaB's new value, which stays
    tables:                         # tables pfwizard owns, content kept for rebuilding
      /etc/postfix/pfwizard/own_domains:
        type: hash
        content: |
          box.example.com REJECT spoofed sender
    services:                       # master.cf -o options, keyed service/type/option
      authclean/unix/header_checks: # a list option: operations on MiaB's value, as chains
        base: pcre:/etc/postfix/outgoing_mail_header_filters
        operations:
          - insert: pcre:/etc/postfix/pfwizard/forged_local_senders
            at: end
      submission/inet/smtpd_tls_auth_only:   # any other option: a whole value
        value: "yes"
        base: null
        # decided: keep-miab        # a decided conflict: the service is gone (see below)

``services`` is optional: a file without it (any earlier pfwizard's) reads as before.
``base`` is optional too (a hand-written profile): the operations then replay onto MiaB's value
as it is.  ``keep``/``also_remove`` record a decided conflict (``--on-conflict``): MiaB's new
form of a removed or changed item stays, or goes too; ``decided: keep-miab`` on an insert,
move or change: while it cannot be placed as made, MiaB's list stays and nobody is asked.
``decided: keep-miab`` on a ``services`` entry (either form): while the master.cf service is
gone, or (a list option) MiaB no longer sets the option its operations were made on, master.cf
stays as MiaB ships it and nobody is asked; the entry stays, with its base, and goes back once
MiaB ships the service or option again.
A parameter lives in one section: ``chains`` and ``parameters`` never both name it (an
error naming both lines).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pfwizard import inputs, memo
from pfwizard.errors import ConfigError
from pfwizard.intent.model import ChainIntent, Customisations, ParameterIntent, TableIntent

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap

    from pfwizard.engine.changeset import IntentRecord

FILENAME = "customizations.yaml"
KEEP_MIAB = "keep-miab"
"""``decided: keep-miab``: the only decision recorded as a word (the others name an item)."""
HEADER = (
    "pfwizard customisations: what you changed in Postfix's restrictions, kept as intent\n"
    "relative to Mail-in-a-Box's values, so `pfwizard restore` can put it back after every\n"
    "MiaB upgrade. You may edit this file and add comments; pfwizard keeps them.\n"
)


class IntentError(ConfigError):
    """customizations.yaml is not valid: names the file and line; nothing is applied."""


class ListEditRefused(IntentError):
    """A list edit (``chains:``, ``services:`` operations) of something that is not such a
    list: refused, nothing applied (exit 4)."""


class IntentChanged(IntentError):
    """customizations.yaml changed on disk since pfwizard read it: not overwritten."""


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _on_disk(path: Path) -> str | None:
    try:
        return _digest(path.read_bytes())
    except FileNotFoundError:
        return None


def default_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / FILENAME


def parse_text(text: str, path: str = FILENAME) -> tuple[Any, Customisations]:
    """(round-trip document, validated model); IntentError names the line of any problem."""
    from pfwizard.intent import yamldoc

    return yamldoc.parse_text(text, path)


def _yaml_library() -> str:
    """Which YAML library reads the file (its version decides the reading), without
    loading it."""
    for entry in sys.path:
        candidate = os.path.join(entry or ".", "ruamel", "yaml", "__init__.py")
        if os.path.isfile(candidate):
            return memo.file_identity(candidate)
    return "none"


def _read_model(data: bytes, text: str, path: Path) -> tuple[Any, Customisations]:
    """(document or None, model) of the file's bytes.  In a run that keeps answers
    (``status``: pfwizard.memo) the model of the same bytes, validated by the same pfwizard
    and YAML library before, is read back and the document is read only if something asks
    for it: the YAML library takes longer to load and read the file than the rest of
    ``status`` together."""
    from pfwizard.intent import codec

    kept = memo.get("intent")
    k = memo.key(data, _yaml_library()) if kept is not None else ""
    if kept is not None:
        model = codec.model_from_plain(kept.get(k))
        if model is not None:
            return None, model
    doc, model = parse_text(text, str(path))
    if kept is not None:
        plain = codec.model_to_plain(model)
        if plain is not None:
            kept.put(k, plain)
    return doc, model


class IntentFile:
    """customizations.yaml: the validated model plus the document it came from."""

    def __init__(
        self,
        path: Path,
        doc: Any,
        model: Customisations,
        read: str | None = None,
        raw: bytes | None = None,
    ) -> None:
        self.path = path
        self.raw = raw
        """The bytes as read (None: there was no file): what the engine compares the file on
        disk with before it writes the new version in the same transaction."""
        self.read_digest = read if read is not None else _digest(raw)
        """sha256 of the file as read (None: there was none): ``save`` compares it with the
        file on disk, so an edit made meanwhile (the admin, another pfwizard) is never lost."""
        self._doc: CommentedMap | None = None
        self._read_doc = doc
        self._doc_pending = doc is None and raw is not None
        """The model came back from pfwizard.memo: the document is read from ``raw`` when
        first needed (an update), not before."""
        self.model = model

    @property
    def doc(self) -> CommentedMap:
        """The YAML document (comments and order kept), read when first needed."""
        if self._doc is None:
            from pfwizard.intent import yamldoc

            read = self._read_doc
            if self._doc_pending and self.raw is not None:
                read = yamldoc.parse_text(self.raw.decode("utf-8"), str(self.path))[0]
            self._doc = yamldoc.as_document(read)
            self._read_doc = None
        return self._doc

    @classmethod
    def load(cls, path: str | Path) -> IntentFile:
        """Read and validate; a missing file is an empty set of customisations."""
        p = Path(path)
        try:
            data = inputs.read_bytes_or_none(p, inputs.MAX_YAML_BYTES, what="YAML file")
        except ConfigError as exc:
            raise IntentError(exc.path, exc.line, exc.message) from exc
        if data is None:
            return cls(p, None, Customisations())
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise IntentError(
                str(p), line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}): save it as UTF-8"
            ) from exc
        doc, model = _read_model(data, text, p)
        return cls(p, doc, model, _digest(data), data)

    def unchanged(self) -> bool:
        """Is the file on disk still the one this object was read from?"""
        return _on_disk(self.path) == self.read_digest

    def _check_unchanged(self, target: Path) -> None:
        if target == self.path and not self.unchanged():
            raise IntentChanged(
                str(target),
                None,
                "changed since pfwizard read it (edited by "
                "hand or by another pfwizard meanwhile); not overwritten",
            )

    @classmethod
    def for_state_dir(cls, state_dir: str | Path) -> IntentFile:
        return cls.load(default_path(state_dir))

    # ---- updates (each keeps the model and the document in step) ---------------------
    def set_release(self, release: str | None) -> None:
        if release:
            from pfwizard.intent import yamldoc

            yamldoc.set_release(self.doc, release)
        self.model.miab_release = release or self.model.miab_release

    def _one_section(self, section: str, name: str) -> None:
        """A main.cf parameter lives in one section: recording it under ``chains`` drops its
        ``parameters`` entry and the other way round (the callers carry its base over)."""
        other = {"chains": "parameters", "parameters": "chains"}.get(section)
        if other is not None:
            self.remove(other, name)

    def set_chain(self, ci: ChainIntent, section: str = "chains") -> None:
        """Record a chain (``section="services"``: a master.cf list option)."""
        from pfwizard.intent import yamldoc

        self._one_section(section, ci.parameter)
        models: dict[str, Any] = getattr(self.model, section)
        old_model = models.get(ci.parameter)
        old_list = old_model.operations if isinstance(old_model, ChainIntent) else []
        yamldoc.set_chain(self.doc, section, ci, old_list)
        models[ci.parameter] = ci

    def set_parameter(self, pi: ParameterIntent, section: str = "parameters") -> None:
        """Record a whole value (``section="services"``: a master.cf option)."""
        from pfwizard.intent import yamldoc

        self._one_section(section, pi.name)
        yamldoc.set_parameter(self.doc, section, pi)
        models: dict[str, Any] = getattr(self.model, section)
        models[pi.name] = pi

    def set_table(self, ti: TableIntent) -> None:
        from pfwizard.intent import yamldoc

        yamldoc.set_table(self.doc, ti)
        self.model.tables[ti.path] = ti

    def remove(self, section: str, key: str) -> None:
        from pfwizard.intent import yamldoc

        yamldoc.remove(self.doc, section, key)
        getattr(self.model, section).pop(key, None)

    # ---- writing -------------------------------------------------------------------------
    def dumps(self) -> str:
        from pfwizard.intent import yamldoc

        return yamldoc.dumps(self.doc)

    def record(self) -> IntentRecord | None:
        """The file as it stands in memory, for the engine to write in the same transaction
        as the configuration it describes (None: nothing to write).  Validated first, as
        ``save`` does; the engine refuses it if the file changed on disk since it was read."""
        from pfwizard.engine.changeset import IntentRecord

        text = self.dumps()
        parse_text(text, str(self.path))  # never write a file pfwizard could not read back
        after = text.encode("utf-8")
        if after == self.raw and self.unchanged():
            return None
        return IntentRecord(Path(os.path.abspath(self.path)), self.raw, after)

    def written(self, record: IntentRecord) -> None:
        """The engine wrote ``record``: this object now reads as that file."""
        self.raw = record.after
        self.read_digest = _digest(record.after)

    def save(self, path: str | Path | None = None) -> Path:
        """Write atomically (temp file, fsync, rename), mode 0600; re-validate first."""
        target = Path(path) if path is not None else self.path
        text = self.dumps()
        parse_text(text, str(target))  # never write a file pfwizard could not read back
        self._check_unchanged(target)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=".customizations.", dir=str(target.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            self._check_unchanged(target)  # again right before the rename
            os.replace(tmp, target)
            if target == self.path:
                self.raw = text.encode("utf-8")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dfd = os.open(str(target.parent), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        if target == self.path:
            self.read_digest = _digest(text.encode("utf-8"))
        return target
