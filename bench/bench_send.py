"""Benchmark: personalised messages of the largest example issue sent to a local SMTP sink.

    .venv/bin/python bench/bench_send.py [--messages 5000] [--naive 1000] [--large 100000]

For each sink (Postfix's smtp-sink when installed, and aiosmtpd) it prints, from the same run:
composer's `send` (editions encoded once, values spliced in, 8 connections, journal on),
the naive way (an EmailMessage built per person, sent by a sequential smtplib loop) and
Postfix's smtp-source blasting the same sink (the ceiling), with messages per second, peak
memory of each sending process, and the ratios. Then the peak memory of a real send to
--large recipients (planning, personalising and sending, streamed), against a small one.
Every measurement runs in a fresh child process, so peak memory is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from itertools import islice
from pathlib import Path

import yaml
from bench_render import largest_issue

from composer.commands.send import send
from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.delivery.messages import Personal, encode_edition, list_unsubscribe, message_id
from composer.delivery.tokens import make_token, unsubscribe_link
from composer.email.placeholders import PLACEHOLDERS, fill_placeholders
from composer.email.render import Renderer
from composer.lists.recipients import MEMBERS_FILE, SUPPRESSED_FILE, read_lists

REPO = Path(__file__).resolve().parent.parent
PARTS = ["composer.yaml", "contacts.yaml", "issues", "recipients", "templates"]
SMTP_SINK, SMTP_SOURCE = Path("/usr/sbin/smtp-sink"), Path("/usr/sbin/smtp-source")
CONNECTIONS = 8
SECRET = "benchmark-secret-not-for-real-use"


def make_project(folder: Path, people: int) -> Path:
    """The example programme with `people` members, cycling the real ones' networks, sending over
    CONNECTIONS connections (the example's composer.yaml leaves the default, 2)."""
    folder.mkdir(parents=True)
    for part in PARTS:
        source = REPO / part
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / part)
    with (REPO / MEMBERS_FILE).open(encoding="utf-8-sig", newline="") as stream:
        header, *rows = list(csv.reader(stream))
    with (folder / MEMBERS_FILE).open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for index in range(people):
            row = list(rows[index % len(rows)])
            local, domain = row[0].split("@")
            writer.writerow([f"{local}.{index}@{domain}", *row[1:]])
    (folder / SUPPRESSED_FILE).write_text("email,network,date\n", encoding="utf-8")
    settings = yaml.safe_load((folder / "composer.yaml").read_text(encoding="utf-8"))
    settings["sending"].setdefault("smtp", {})["connections"] = CONNECTIONS  # as many as smtp-source's
    (folder / "composer.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(*args: object) -> dict[str, float]:
    """Run one measurement in a fresh interpreter; it prints a JSON line."""
    command = [sys.executable, __file__, "--child", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{args[0]} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_composer(root: Path, port: int, number: int) -> dict[str, float]:
    """composer's own send, timed from the first accepted message to the last."""
    env = {
        "COMPOSER_SECRET": SECRET,
        "COMPOSER_SMTP_HOST": "127.0.0.1",
        "COMPOSER_SMTP_PORT": str(port),
        "COMPOSER_SMTP_SECURITY": "none",
    }
    marks: list[float] = []
    before = peak_rss_mb()
    started = time.perf_counter()

    def progress(step: object) -> None:
        if len(marks) < 1 or step.done == step.total:  # type: ignore[attr-defined]
            marks.append(time.perf_counter())

    report = send(root, str(number), rate=10**9, progress=progress, env=env)
    return {
        "messages": report.sent,
        "delivery": marks[-1] - marks[0],
        "first": marks[0] - started,  # from the command's start to the first accepted message
        "total": time.perf_counter() - started,
        "rss": peak_rss_mb(),
        "rss_imports": before,
    }


def run_naive(root: Path, port: int, number: int, count: int) -> dict[str, float]:
    """An EmailMessage per person, sent one after the other with smtplib (editions pre-rendered)."""
    project = load_project(root)
    settings, plan, renderer = project.settings, plan_for(project, number), Renderer(project)
    recipients = list(islice(read_lists(project).recipients(), count))
    editions = {r.edition: renderer.edition(plan, r.edition) for r in recipients}
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for recipient in recipients:
            edition, person = editions[recipient.edition], recipient.person
            token = make_token(person.email, signing_key=b"x" * 16)
            link = unsubscribe_link(str(settings.sending.unsubscribe_url), token)
            names = ", ".join(project.networks[n].name for n in sorted(recipient.networks))
            values = {"greeting": f"Dear {person.first_name},", "unsubscribe_url": link}
            values |= {"networks": names, "token": token}
            message = EmailMessage()
            message["From"] = f"{settings.sender.name} <{settings.sender.email}>"
            message["To"] = f"{person.name} <{person.email}>"
            message["Subject"] = edition.subject
            message["List-Unsubscribe"] = f"<{link}>"
            message.set_content(fill_placeholders(edition.text, values))
            message.add_alternative(fill_placeholders(edition.html, values), subtype="html")
            smtp.send_message(message, to_addrs=[person.email])
    return {"messages": len(recipients), "delivery": time.perf_counter() - started, "rss": peak_rss_mb()}


def run_aiosmtpd_sink(port: int) -> None:
    from aiosmtpd.smtp import SMTP

    class Discard:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 OK"

    loop = asyncio.new_event_loop()
    loop.run_until_complete(loop.create_server(lambda: SMTP(Discard()), "127.0.0.1", port))
    loop.run_forever()


def start_sink(kind: str, port: int) -> subprocess.Popen[bytes]:
    if kind == "smtp-sink":
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        command = [str(SMTP_SINK), *user, f"127.0.0.1:{port}", "256"]
    else:
        command = [sys.executable, __file__, "--child", "aiosmtpd-sink", str(port)]
    sink = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return sink
        except OSError:
            time.sleep(0.05)
    sink.kill()
    raise SystemExit(f"{kind} did not start")


def run_smtp_source(port: int, count: int, size: int) -> dict[str, float]:
    started = time.perf_counter()
    subprocess.run(
        [
            str(SMTP_SOURCE),
            "-s",
            str(CONNECTIONS),
            "-m",
            str(count),
            "-l",
            str(size),
            "-f",
            "update@secip.example.org",
            "-t",
            "someone@kent.example",
            f"127.0.0.1:{port}",
        ],
        check=True,
        capture_output=True,
    )
    return {"messages": count, "delivery": time.perf_counter() - started}


def message_size(root: Path, number: int) -> int:
    """Bytes of one personalised message of the most common edition, for smtp-source's -l."""
    project = load_project(root)
    recipient = next(read_lists(project).recipients())
    edition = Renderer(project).edition(plan_for(project, number), recipient.edition)
    encoded = encode_edition(edition, settings=project.settings, placeholders=PLACEHOLDERS)
    email = recipient.person.email
    link = unsubscribe_link(
        str(project.settings.sending.unsubscribe_url), make_token(email, signing_key=b"x" * 16)
    )
    personal = Personal(
        email,
        recipient.person.name,
        message_id(issue=number, email=email, settings=project.settings),
        list_unsubscribe(link=link, token="x", settings=project.settings),
        {"greeting": "Dear colleague,", "unsubscribe_url": link, "networks": "DCS Group", "token": "x"},
    )
    return len(encoded.personalise(personal))


def row(sink: str, sender: str, result: dict[str, float], naive: float, ceiling: float) -> str:
    rate = result["messages"] / result["delivery"]
    rss = f"{result['rss']:.0f} MB" if "rss" in result else "-"
    return (
        f"{sink:10} {sender:34} {result['messages']:>8.0f} {result['delivery']:8.2f} {rate:8.0f}  {rss:>8}"
        f"  {rate / naive:7.1f}x  {rate / ceiling:6.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="personalised messages to send")
    parser.add_argument("--naive", type=int, default=1000, help="messages sent the naive way")
    parser.add_argument("--large", type=int, default=100_000, help="recipients for the memory run (0: skip)")
    args = parser.parse_args()
    sinks = (["smtp-sink"] if SMTP_SINK.exists() else []) + ["aiosmtpd"]
    with tempfile.TemporaryDirectory() as folder:
        root = make_project(Path(folder) / "project", args.messages)
        project = load_project(root)
        number = largest_issue(project, Renderer(project))
        size = message_size(root, number)
        print(
            f"Issue {number} (the largest example issue): {size / 1024:.0f} KB per message, "
            f"{CONNECTIONS} connections for composer and smtp-source"
        )
        print(
            f"{'sink':10} {'sender':34} {'messages':>8} {'seconds':>8} {'msg/s':>8}  {'peak RSS':>8}"
            f"  {'÷naive':>8}  {'÷ceiling':>6}"
        )
        for kind in sinks:
            port = free_port()
            sink = start_sink(kind, port)
            try:
                shutil.rmtree(root / ".composer", ignore_errors=True)
                ours = child("composer", root, port, number)
                naive = child("naive", root, port, number, args.naive)
                ceiling = run_smtp_source(port, args.messages, size) if SMTP_SOURCE.exists() else None
            finally:
                sink.terminate()
                sink.wait()
            naive_rate = naive["messages"] / naive["delivery"]
            top = ceiling["messages"] / ceiling["delivery"] if ceiling else float("nan")
            print(row(kind, f"composer ({CONNECTIONS} connections)", ours, naive_rate, top))
            print(
                f"{'':10} {'  whole command (with check)':34} {ours['messages']:>8.0f} "
                f"{ours['total']:8.2f} {ours['messages'] / ours['total']:8.0f}"
            )
            print(row(kind, "naive (EmailMessage + smtplib)", naive, naive_rate, top))
            if ceiling:
                print(row(kind, f"smtp-source -s {CONNECTIONS}", ceiling, naive_rate, top))
        if args.large:
            large_root = make_project(Path(folder) / "large", args.large)
            port = free_port()
            sink = start_sink(sinks[0], port)
            try:
                large = child("composer", large_root, port, number)
            finally:
                sink.terminate()
                sink.wait()
            print(
                f"Sending to {args.large:,} recipients through {sinks[0]}: peak RSS {large['rss']:.0f} MB "
                f"({large['rss_imports']:.0f} MB after imports; {ours['rss']:.0f} MB for {args.messages:,}); "
                f"{large['total']:.0f} s in all, {large['messages'] / large['delivery']:.0f} msg/s delivery"
            )


def child_main(mode: str, *args: str) -> None:
    if mode == "aiosmtpd-sink":
        run_aiosmtpd_sink(int(args[0]))
    elif mode == "composer":
        print(json.dumps(run_composer(Path(args[0]), int(args[1]), int(args[2]))))
    else:
        print(json.dumps(run_naive(Path(args[0]), int(args[1]), int(args[2]), int(args[3]))))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child_main(*sys.argv[2:])
    else:
        main()
