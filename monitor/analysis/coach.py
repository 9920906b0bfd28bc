"""The H.E.A.T. coach: which steps the agent has taken, and the next one with phrases.

Pure: turns and heat levels in, advice out. Prompts help rather than nag: none while the
call is below the playbook's `min_level`, a global and a per-step cooldown, and a step once
done is never asked for again. The agent's turns are read only for steps, never scored.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.analysis.heat import LEVELS
from monitor.analysis.lexicon import tokens_of
from monitor.analysis.playbook import Playbook, Step, is_question, phrase_ends

#: The warning letter `on_agent_turn` returns for a defensive line (as "!defensive").
DEFENSIVE = "defensive"

#: First person in the caller's words becomes second person in the agent's summary line.
_FLIP = {
    "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "im": "youre",
    "ive": "youve", "id": "youd", "ill": "youll", "am": "are", "we": "you", "our": "your", "us": "you",
}  # fmt: skip
#: How the summary line shows words that lost their apostrophe in ASR text.
_SHOW = {
    "doesnt": "doesn't", "dont": "don't", "didnt": "didn't", "isnt": "isn't", "wasnt": "wasn't",
    "cant": "can't", "wont": "won't", "havent": "haven't", "hasnt": "hasn't", "youre": "you're",
    "youve": "you've", "youd": "you'd", "youll": "you'll", "arent": "aren't", "werent": "weren't",
    "its": "it's", "thats": "that's",
}  # fmt: skip
#: Words at which a complaint clause starts, for the summary line.
_CLAUSE_BREAKS = frozenset(["and", "but", "because", "so", "then", "when"])
#: How many seconds a caller turn must last (or words it must have) for "let them finish" to count.
_VENT_SECONDS = 6.0
_VENT_WORDS = 15


@dataclass(frozen=True, slots=True)
class Advice:
    """One coach prompt: the step, what to do, phrases to say, and which steps are done."""

    step: str
    prompt: str
    phrases: tuple[str, ...]
    done: dict[str, bool]


class Coach:
    """One call's coaching state."""

    def __init__(self, playbook: Playbook) -> None:
        self.playbook = playbook
        self.done_at: dict[str, float | None] = {s.letter: None for s in playbook.steps}
        self.caller_name: str | None = None
        self.prompts = 0
        self._complaint: list[str] = []
        self._complaint_cues = 0
        self._asked_name = False
        self._problem_raised = False
        self._owned = False
        self._next_step = False
        self._last_prompt_t: float | None = None
        self._last_step_prompt: dict[str, float] = {}
        self._defensive: tuple[str, ...] | None = None

    def done(self) -> dict[str, bool]:
        return {letter: when is not None for letter, when in self.done_at.items()}

    def next_step(self) -> Step | None:
        return next((s for s in self.playbook.steps if self.done_at[s.letter] is None), None)

    def on_caller_turn(
        self,
        t: float,
        text: str,
        score: float,
        problem_at: int | None,
        level: str,
        situation: str,
        problems: int = 1,
    ) -> list[Advice]:
        """Note the caller's name and problem words; suggest the next step if the call is warm.

        `problem_at` is where the turn's first problem phrase starts; the summary-back line is
        built around the turn with the most problem phrases (the first such, on a tie).
        """
        words = tokens_of(text)
        self._capture_name(words)
        self._problem_raised |= score < -0.05 or problem_at is not None
        if problem_at is not None and problems > self._complaint_cues:
            self._complaint_cues = problems
            self._complaint = _clause(words, problem_at)
        # Abuse is answered at once: a prompt a few seconds earlier does not hold the limit back.
        if situation == "abuse" and self._may_prompt(t, level, "!abuse", global_cooldown=False):
            return [self._advice(t, "!abuse", self.playbook.abuse_prompt, self.playbook.abuse_phrases)]
        return self.suggest(t, level, situation)

    def on_agent_turn(self, t: float, text: str, let_finish: bool, talked_over: bool) -> list[str]:
        """Mark the steps this agent turn shows as done; return their letters (warnings as '!E')."""
        words = tokens_of(text)
        self._asked_name = self.playbook.says(words, self.playbook.name_questions) is not None
        newly: list[str] = []
        pb = self.playbook
        self._defensive = pb.says(words, pb.defensive) if pb.defensive else None
        if self._defensive is not None:
            newly.append("!" + DEFENSIVE)
        for step in pb.steps:
            # Fighting back already earned its own warning; a second one for the same words nags.
            if step.warn and self._defensive is None and pb.says(words, step.warn):
                newly.append("!" + step.letter)
            # A line that fights back takes no step, whatever else it says.
            if (
                self._defensive is None
                and self.done_at[step.letter] is None
                and self._shows(step, words, let_finish, talked_over)
            ):
                self.done_at[step.letter] = t
                newly.append(step.letter)
        return newly

    def warning(self, t: float, letter: str, level: str) -> list[Advice]:
        """Advice for a warning returned by `on_agent_turn` (e.g. sympathy that blames the company)."""
        if letter == DEFENSIVE:
            return self._defensive_warning(t)
        step = next(s for s in self.playbook.steps if s.letter == letter)
        # A warning answers what the agent just said: it does not wait for the global cooldown.
        if not self._may_prompt(t, level, "!" + letter, global_cooldown=False):
            return []
        return [self._advice(t, "!" + letter, step.warn_message, self._fill(step.suggestions("default")))]

    def _defensive_warning(self, t: float) -> list[Advice]:
        """The never-fight-back warning, for an agent line that argues or lectures.

        Once the caller has raised a problem it goes out at any heat: arguing is how a calm
        call turns warm. Each defensive phrase has its own cooldown, so a second, different
        one is answered too.
        """
        said = self._defensive
        if said is None or not self._problem_raised:
            return []
        key = "!" + DEFENSIVE + ":" + " ".join(said)
        last = self._last_step_prompt.get(key)
        if last is not None and t - last < self.playbook.same_step_cooldown_s:
            return []
        pb = self.playbook
        return [self._advice(t, key, pb.defensive_message, self._fill(pb.defensive_phrases))]

    def progress(self) -> Advice:
        """The steps done so far and the step to take now, with no prompt: ticks the agent's checklist.

        Not a prompt, so no cooldown and no count: the analysis sends it only when the done map
        changed and nothing else carries it.
        """
        return Advice(self._current_letter(), "", (), self.done())

    def suggest(self, t: float, level: str, situation: str = "default") -> list[Advice]:
        """The next step's prompt and phrases, if the call is warm enough and no cooldown holds."""
        step = self._step_to_prompt(level)
        if step is None or not self._may_prompt(t, level, step.letter):
            return []
        phrases = self._fill(step.suggestions(situation))
        if step.kind == "questions" and self._complaint:
            phrases = (self.summary_line(), *phrases[:2])
        return [self._advice(t, step.letter, step.prompt, phrases[:3])]

    def _step_to_prompt(self, level: str) -> Step | None:
        """The next step, or at a boiling peak, once it was already prompted, the next of the
        playbook's `at_boiling` steps not yet done nor prompted (by default E, then T): a
        caller that furious needs empathy and ownership, not the same prompt again."""
        step = self.next_step()
        if step is None or level != "boiling" or step.letter not in self._last_step_prompt:
            return step
        for letter in self.playbook.at_boiling:
            if self.done_at.get(letter, 0.0) is None and letter not in self._last_step_prompt:
                return next(s for s in self.playbook.steps if s.letter == letter)
        return step

    def summary_line(self) -> str:
        """A summary-back line in the caller's own words, turned to 'you'."""
        flipped = (_FLIP.get(w, w) for w in self._complaint)
        complaint = " ".join(_SHOW.get(w, w) for w in flipped)
        return self.playbook.summary.replace("{name}", self._name_part()).replace("{complaint}", complaint)

    def _shows(self, step: Step, words: list[str], let_finish: bool, talked_over: bool) -> bool:
        if step.kind == "listening":
            return not talked_over and (let_finish or self._sincere(words, step.detect))
        if step.kind == "phrases":
            # Empathy said over the caller, or taken back at once ("i understand but"), is hollow.
            return not talked_over and self._sincere(words, step.detect)
        if step.kind == "ownership":
            self._owned |= self.playbook.says(words, step.detect) is not None
            self._next_step |= self.playbook.says(words, step.next_step) is not None
            return self._owned and self._next_step
        if step.kind == "questions":
            # Before the caller has raised a problem there is nothing to clarify ("how can i help").
            if not self._problem_raised:
                return False
            return self.playbook.says(words, step.detect) is not None or is_question(
                words, step.not_questions
            )
        return self.playbook.says(words, step.detect) is not None

    def _sincere(self, words: list[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
        """Whether one of `phrases` is said without a voiding word ("but") right after it."""
        pb = self.playbook
        for end in phrase_ends(words, phrases, pb.intensifiers):
            if pb.voiders.isdisjoint(words[end : end + pb.void_window]):
                return True
        return False

    def _may_prompt(self, t: float, level: str, key: str, global_cooldown: bool = True) -> bool:
        pb = self.playbook
        if LEVELS.index(level) < LEVELS.index(pb.min_level):
            return False
        if global_cooldown and self._last_prompt_t is not None and t - self._last_prompt_t < pb.cooldown_s:
            return False
        last = self._last_step_prompt.get(key)
        return last is None or t - last >= pb.same_step_cooldown_s

    def _advice(self, t: float, key: str, prompt: str, phrases: tuple[str, ...]) -> Advice:
        self._last_prompt_t = t
        self._last_step_prompt[key] = t
        self.prompts += 1
        step = key.lstrip("!")
        if step == "abuse" or step.startswith(DEFENSIVE):
            step = self._current_letter()
        return Advice(step, prompt, phrases, self.done())

    def _current_letter(self) -> str:
        """The next step not yet done; the last step once all are (a coach event always names one)."""
        nxt = self.next_step()
        return nxt.letter if nxt else self.playbook.steps[-1].letter

    def _fill(self, phrases: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(p.replace("{name}", self._name_part()) for p in phrases)

    def _name_part(self) -> str:
        return f", {self.caller_name}" if self.caller_name else ""

    def _capture_name(self, words: list[str]) -> None:
        if self.caller_name:
            return
        asked, self._asked_name = self._asked_name, False
        if asked:
            # "its marcus", "yes sure its marcus bell": the first word that is not a filler.
            first = next((w for w in words[:4] if w not in self.playbook.not_names), None)
            if first is not None and self._name_like(first):
                self.caller_name = first.capitalize()
                return
        for phrase in self.playbook.name_capture:
            size = len(phrase)
            for i in range(len(words) - size):
                candidate = words[i + size]
                if tuple(words[i : i + size]) == phrase and self._name_like(candidate):
                    self.caller_name = candidate.capitalize()
                    return

    def _name_like(self, word: str) -> bool:
        return word.isalpha() and len(word) > 1 and word not in self.playbook.not_names


def _clause(words: list[str], at: int) -> list[str]:
    """The caller's words around a complaint cue, from the start of its clause, at most 12."""
    start = at
    while start > 0 and at - start < 8 and words[start - 1] not in _CLAUSE_BREAKS:
        start -= 1
    return words[start : start + 12]
