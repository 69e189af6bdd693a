"""``caspr por``: proof of liabilities (build the tree, hand out proofs, verify them)."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from caspr.cli.common import Exit, app, console, fail, open_snapshot, read_json
from caspr.custody import por, published

por_app = typer.Typer(
    help="Proof of liabilities: build, hand out and verify inclusion proofs.", no_args_is_help=True
)
app.add_typer(por_app, name="por")


class ProofFormat(StrEnum):
    """Formats ``caspr por verify`` reads."""

    CASPR = "caspr"
    OKX_V1 = "okx-v1"
    OKX_V2 = "okx-v2"
    BITGET = "bitget"


@por_app.command("build")
def por_build(
    directory: Annotated[Path, typer.Argument(help="Snapshot folder")],
    out: Annotated[Path, typer.Option("--out", help="Folder for root.json and the proof store")],
    audit_id: Annotated[
        str | None, typer.Option("--audit-id", help="Audit id (default: exchange/as_of/random)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists")] = False,
) -> None:
    """Build the Merkle sum tree over every customer's balances and store every proof."""
    try:
        por.check_out(out, force)
        seconds = []
        with console.status("validating the snapshot…"):
            start = time.perf_counter()
            snapshot = open_snapshot(directory)
            seconds.append(time.perf_counter() - start)
        with console.status("reading every customer's balances…"):
            start = time.perf_counter()
            ledger = por.read(snapshot)
            seconds.append(time.perf_counter() - start)
        with console.status(f"hashing {len(ledger.ids):,} customers and writing their proofs…"):
            start = time.perf_counter()
            result = por.build_tree(ledger, out, audit_id=audit_id)
            seconds.append(time.perf_counter() - start)
    except (ValueError, OverflowError) as exc:
        fail(str(exc))
    root = result.root
    console.print(
        f"wrote [bold]{out}/root.json[/]: root {root['root']['hash']}, height {root['height']}, "
        f"{result.customers:,} customers, {result.hashes:,} hashes ({result.kernels}); "
        f"validated in {seconds[0]:.1f} s, read in {seconds[1]:.1f} s, tree and proofs in {seconds[2]:.1f} s"
    )
    for row in root["solvency"]:
        mark = "[green]solvent[/]" if row["solvent"] else "[bold red]NOT solvent[/]"
        console.print(
            f"  {row['asset']}: liabilities {row['liabilities']}, customer holdings "
            f"{row['customer_holdings']} — {mark}"
        )


@por_app.command("proof")
def por_proof(
    out: Annotated[Path, typer.Argument(help="Folder written by 'caspr por build'")],
    account: Annotated[str, typer.Option("--account", help="The customer's account id")],
) -> None:
    """Print one customer's inclusion proof as JSON, ready to hand to that customer."""
    try:
        document = por.proof(out, account)
    except KeyError:
        fail(f"account {account!r} is not in the tree at {out}")
    except OSError as exc:
        fail(f"{out}: not a proof store ({exc})")
    print(json.dumps(document, indent=2, ensure_ascii=False))


@por_app.command("verify")
def por_verify(
    files: Annotated[list[Path], typer.Argument(help="Proof file (okx-v2: tree file, then user info file)")],
    root: Annotated[
        str | None, typer.Option("--root", help="Published root: root.json path or root hash")
    ] = None,
    proof_format: Annotated[ProofFormat, typer.Option("--format", help="caspr, okx-v1, okx-v2 or bitget")] = (
        ProofFormat.CASPR
    ),
) -> None:
    """Verify an inclusion proof; exit 0 only when it is valid, and say why otherwise."""
    expected = root
    if proof_format is ProofFormat.OKX_V2:
        if len(files) != 2:
            fail("okx-v2 needs two files: the full tree file and the user info file")
        try:
            tree = files[0].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{files[0]}: cannot be read as text: {exc}")
        verdict = published.verify_okx_v2(tree, read_json(files[1]), expected)
    elif len(files) != 1:
        fail(f"{proof_format.value} takes exactly one proof file")
    else:
        document = read_json(files[0], exact=proof_format is ProofFormat.BITGET)
        _check_format(files[0], document, proof_format)
        if proof_format is ProofFormat.OKX_V1:
            verdict = published.verify_okx_v1(document, expected)
        elif proof_format is ProofFormat.BITGET:
            verdict = published.verify_bitget(document, expected)
        else:
            verdict = _verify_caspr(document, root)
    _print_verdict(verdict)
    if not verdict.valid:
        raise typer.Exit(1)
    if verdict.findings:
        raise typer.Exit(Exit.FLAWED_TREE)


ROOT_HASH = re.compile(r"^[0-9a-f]{64}$")
"""A caspr root hash as ``root.json`` prints it: SHA-256, 64 lower-case hex digits."""


def _verify_caspr(document: Any, root: str | None) -> por.Verdict:
    """A caspr proof against a published root.json, or against a bare root hash."""
    if root is None or not ROOT_HASH.match(root.strip().lower()):
        return por.verify(document, read_json(Path(root)) if root else None)
    verdict = por.verify(document, None)
    if not verdict.valid:
        return verdict
    if document["root"]["hash"] != root.strip().lower():
        return por.Verdict(
            False, ("the proof's root hash differs from the published root hash",), verdict.checked
        )
    return dataclasses.replace(
        verdict,
        checked=(*verdict.checked, "proof's root hash equals the published root hash"),
        not_checked=("the published per-asset totals and audit id (give the root.json file to check them)",),
    )


FORMAT_MARKS: dict[ProofFormat, Callable[[Any], bool]] = {
    ProofFormat.CASPR: lambda d: d.get("format") == por.FORMAT,
    ProofFormat.OKX_V1: lambda d: isinstance(d.get("self"), dict) and "path" in d and "hash" in d["self"],
    ProofFormat.BITGET: lambda d: isinstance(d.get("self"), dict) and "merkelLeaf" in d["self"],
}
"""How each one-file format is recognised: the keys its documents always carry."""

FORMAT_NAMES = {ProofFormat.CASPR: "caspr", ProofFormat.OKX_V1: "OKX v1", ProofFormat.BITGET: "Bitget"}


def _check_format(path: Path, document: Any, expected: ProofFormat) -> None:
    """Exit 2 when ``document`` is not a proof of the ``--format`` given, naming what it looks like."""
    if isinstance(document, dict) and FORMAT_MARKS[expected](document):
        return
    looks = [
        FORMAT_NAMES[f] for f, mark in FORMAT_MARKS.items() if isinstance(document, dict) and mark(document)
    ]
    hint = (
        f" (it looks like a {looks[0]} proof: use --format {looks[0].lower().replace(' ', '-')})"
        if looks
        else ""
    )
    fail(f"{path}: this is not an {FORMAT_NAMES[expected]} proof file{hint}")


def _print_verdict(verdict: por.Verdict) -> None:
    if not verdict.valid:
        console.print("[bold red]INVALID[/]: the proof does not recompute to its root")
    elif verdict.findings:
        console.print(
            "[bold green]VALID[/]: your balance is included in this root\n"
            "[bold yellow]BUT THE EXCHANGE'S TREE IS FLAWED[/] (exit code 4):"
        )
    else:
        console.print("[bold green]VALID[/]: your balance is included in this root")
    for reason in verdict.reasons:
        console.print(f"  [red]✗[/] {reason}")
    for finding in verdict.findings:
        console.print(f"  [bold yellow]![/] {finding}")
    if verdict.reconstructed:
        console.print(f"  reconstructed: {verdict.reconstructed}")
    for item in verdict.checked:
        console.print(f"  checked: {item}")
    for item in verdict.not_checked:
        console.print(f"  [yellow]not checked:[/] {item}")
    for item in verdict.weaknesses:
        console.print(f"  [yellow]weakness of the format:[/] {item}")
