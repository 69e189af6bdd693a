"""``caspr por``: proof of liabilities (build the tree, hand out proofs, verify them)."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from caspr.cli.common import app, console, fail, open_snapshot, read_json
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
        verdict = published.verify_okx_v2(files[0].read_text(encoding="utf-8"), read_json(files[1]), expected)
    elif len(files) != 1:
        fail(f"{proof_format.value} takes exactly one proof file")
    elif proof_format is ProofFormat.OKX_V1:
        verdict = published.verify_okx_v1(read_json(files[0]), expected)
    elif proof_format is ProofFormat.BITGET:
        verdict = published.verify_bitget(read_json(files[0]), expected)
    else:
        published_root = read_json(Path(root)) if root else None
        verdict = por.verify(read_json(files[0]), published_root)
    _print_verdict(verdict)
    if not verdict.valid:
        raise typer.Exit(1)


def _print_verdict(verdict: por.Verdict) -> None:
    console.print("[bold green]VALID[/]" if verdict.valid else "[bold red]INVALID[/]")
    for reason in verdict.reasons:
        console.print(f"  [red]✗[/] {reason}")
    for item in verdict.checked:
        console.print(f"  checked: {item}")
    for item in verdict.not_checked:
        console.print(f"  [yellow]not checked:[/] {item}")
    for item in verdict.weaknesses:
        console.print(f"  [yellow]weakness of the format:[/] {item}")
