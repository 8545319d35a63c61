"""What the security run tried and what came back, per surface; written to tests/security/REPORT.md."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

REPORT = Path(__file__).with_name("REPORT.md")


class Tally:
    def __init__(self):
        self.outcomes: dict[str, Counter] = defaultdict(Counter)
        self.notes: dict[str, list[str]] = defaultdict(list)

    def record(self, surface: str, outcome: str, tried: str = "") -> None:
        """One input tried on ``surface`` and its outcome (a status name, an HTTP code, 'inert', ...)."""
        self.outcomes[surface][outcome] += 1
        print(f"[{surface}] tried {tried[:160]!r} -> {outcome}")

    def note(self, surface: str, text: str) -> None:
        self.notes[surface].append(text)

    def markdown(self) -> str:
        lines = ["# Security run", "",
                 "Written by `pytest tests/security` (hypothesis derandomized: the same inputs every run).", "",
                 "| surface | inputs tried | outcomes |", "|---|---:|---|"]
        total = 0
        for surface in sorted(self.outcomes):
            counts = self.outcomes[surface]
            tried = sum(counts.values())
            total += tried
            shown = ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            lines.append(f"| {surface} | {tried} | {shown} |")
        lines += [f"| **total** | **{total}** | |", ""]
        for surface in sorted(self.notes):
            lines.append(f"## {surface}")
            lines += [f"- {text}" for text in self.notes[surface]]
            lines.append("")
        return "\n".join(lines)


TALLY = Tally()
