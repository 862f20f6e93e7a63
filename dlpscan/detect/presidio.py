"""dlpscan's recognizer definitions as Presidio recognizers (language 'zh', fully offline).

One `DefinitionRecognizer` per definition runs that definition's patterns over the folded text and
decides every match with `scoring.evaluate`, exactly as the fast engine does. What Presidio does not
do by itself is settle overlaps between entity types (its `remove_duplicates` works per type), so
`ResolvingContextEnhancer` applies the fast engine's rule (at each candidate start the best
(score, priority, length) wins and the next candidate starts after it). It also treats the
`context` words given to `AnalyzerEngine.analyze` as a table column header and then decides the text
like a table cell of the fast engine (header boost, negative headers suppress, whole-cell names and
addresses). `CompanionNameRecognizer` adds the fast engine's companion names: surname-led tokens on a
line that also holds a direct identifier.

    from dlpscan.detect.presidio import analyzer_engine
    analyzer = analyzer_engine()
    analyzer.analyze("姓名：张三 手机13912345678", language="zh")
    analyzer.analyze("110101199003078670", language="zh", context=["身份证号"])  # a table cell

In your own engine (add `context_aware_enhancer=ResolvingContextEnhancer()` for the overlap rule
and header context):

    from dlpscan.detect.presidio import OfflineNlpEngine, recognizers
    analyzer = AnalyzerEngine(supported_languages=["zh"], nlp_engine=OfflineNlpEngine())
    for r in recognizers(): analyzer.registry.add_recognizer(r)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from presidio_analyzer import AnalysisExplanation, AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from presidio_analyzer.recognizer_registry import RecognizerRegistry

from dlpscan.detect.decide import Candidate, resolve, whole_cell_types
from dlpscan.detect.evidence import cell_finding, companion_names, with_line_numbers
from dlpscan.detect.registry import RecognizerDef, label_words, load_definitions
from dlpscan.detect.scoring import Finding, Labels, evaluate, header_relation
from dlpscan.detect.text import fold

LANGUAGE = "zh"
META_KEY = "dlpscan"  # recognition_metadata entry holding what overlap resolution needs (no raw value)
_ID_KEY = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY


class DefinitionRecognizer(EntityRecognizer):
    """One dlpscan definition (recognizers/*.yaml) as a Presidio recognizer for language 'zh'.

    Scores already include the definition's own context words, so results are flagged as enhanced
    and Presidio's lemma enhancer leaves them alone.
    """

    def __init__(
        self, definition: RecognizerDef, first_order: int = 0, known_labels: frozenset[str] = frozenset()
    ) -> None:
        """`known_labels`: every label word of the definitions in use (registry.label_words)."""
        self.definition = definition
        self.labels = Labels.of(definition, known_labels)
        self._first_order = first_order
        super().__init__(
            supported_entities=[definition.entity],
            name=f"dlpscan {definition.entity}",
            supported_language=LANGUAGE,
            context=list(definition.context.words),
        )

    def load(self) -> None:
        """Nothing to load: patterns are compiled with the definition."""

    def candidates(self, folded: str, header: int = 0) -> list[Candidate]:
        """Every start where a pattern matches, decided by scoring.evaluate (None = not an entity)."""
        d = self.definition
        out: list[Candidate] = []
        for i, pattern in enumerate(d.patterns):
            rx, pos = pattern.compiled, 0
            while (m := rx.search(folded, pos)) is not None:
                f = evaluate(d, self.labels, pattern, m, folded, header=header)
                if f is not None:
                    out.append(Candidate(f, m.start(), m.end(), self._first_order + i, d.priority))
                pos = m.start() + 1
        return out

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return [self.result(c.finding, c) for c in self.candidates(fold(text))]

    def result(self, f: Finding, c: Candidate | None = None, why: str = "pattern") -> RecognizerResult:
        meta: dict[str, Any] = {
            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
            _ID_KEY: self.id,
            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
            META_KEY: {
                "masked": f.masked,
                "damaged": f.damaged,
                "hidden_digits": f.hidden_digits,
                "confirmed": f.confirmed,
            },
        }
        if c is not None:
            meta[META_KEY].update(match=(c.match_start, c.match_end), order=c.order, priority=c.priority)
        explanation = AnalysisExplanation(
            recognizer=self.name, original_score=f.score, textual_explanation=f"dlpscan {why}"
        )
        return RecognizerResult(f.entity_type, f.start, f.end, f.score, explanation, meta)


class CompanionNameRecognizer(EntityRecognizer):
    """CN_NAME from the company of an identifier: runs the identifier recognizers itself (with the
    overlap rule) and reports surname-led tokens on lines that hold an exposed direct identifier."""

    def __init__(self, members: Sequence[DefinitionRecognizer]) -> None:
        self.members = tuple(members)
        self._is_name = next(m.labels.validate for m in members if m.definition.entity == "CN_NAME")
        self._direct = frozenset(m.definition.entity for m in members if m.definition.direct_identifier)
        super().__init__(
            supported_entities=["CN_NAME"], name="dlpscan CN_NAME companion", supported_language=LANGUAGE
        )

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        folded = fold(text)
        found = [c.finding for c in resolve(c for m in self.members for c in m.candidates(folded))]
        found = with_line_numbers(folded, sorted(found, key=lambda f: f.start))
        out = []
        for f in companion_names(folded, found, self._direct, self._is_name):
            meta = {
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                _ID_KEY: self.id,
                RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
                META_KEY: {"companion": True},
            }
            why = AnalysisExplanation(self.name, f.score, textual_explanation="dlpscan companion name")
            out.append(RecognizerResult(f.entity_type, f.start, f.end, f.score, why, meta))
        return out


def _candidate_of(r: RecognizerResult) -> Candidate:
    meta = r.recognition_metadata[META_KEY]
    f = Finding(
        r.entity_type, "", r.start, r.end, r.score, meta["masked"], meta["damaged"], meta["hidden_digits"]
    )
    return Candidate(f, meta["match"][0], meta["match"][1], meta["order"], meta["priority"])


class ResolvingContextEnhancer(LemmaContextAwareEnhancer):
    """Settles overlaps between dlpscan's entity types like the fast engine, and reads `context`
    as a column header: the text is then decided like one table cell under that header (the fast
    engine's table path). Results of other recognizers get Presidio's lemma-based enhancement."""

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        members = [r for r in recognizers if isinstance(r, DefinitionRecognizer)]
        member_ids = {r.id for r in members}
        companion_ids = {r.id for r in recognizers if isinstance(r, CompanionNameRecognizer)}
        others, pattern_results, companions = [], [], []
        for r in raw_results:
            rid = (r.recognition_metadata or {}).get(_ID_KEY)
            (pattern_results if rid in member_ids else companions if rid in companion_ids else others).append(
                r
            )
        out = (
            super().enhance_using_context(text, others, nlp_artifacts, recognizers, context) if others else []
        )
        header = " ".join(w for w in context or () if w)
        if header:
            return out + _cell_results(text, header, members)
        by_candidate: dict[int, RecognizerResult] = {}
        candidates = []
        for r in pattern_results:
            c = _candidate_of(r)
            by_candidate[id(c)] = r
            candidates.append(c)
        return out + [by_candidate[id(c)] for c in resolve(candidates)] + companions


def _cell_results(text: str, header: str, members: Sequence[DefinitionRecognizer]) -> list[RecognizerResult]:
    """`text` as one cell under `header`, decided like Engine.scan_table decides a cell."""
    folded = fold(text).replace("\n", " ")  # a table row is one line
    relation = {m.definition.entity: header_relation(m.labels, header) for m in members}
    owner = {m.definition.entity: m for m in members}
    winners = resolve(c for m in members for c in m.candidates(folded, relation[m.definition.entity]))
    out = [owner[c.finding.entity_type].result(c.finding, c) for c in winners]
    found = {c.finding.entity_type for c in winners}
    for d in whole_cell_types(relation, [m.definition for m in members]):
        if d.entity in found:
            continue
        m = owner[d.entity]
        f = cell_finding(d, m.labels.validate, text, 0)
        if f is not None:
            why = "masked cell under a matching header" if f.masked else "cell under a matching header"
            out.append(m.result(f, why=why))
    return out


class OfflineNlpEngine(NlpEngine):
    """A Presidio NLP engine that never downloads a model.

    `tokenize=False` (default) returns empty artifacts: dlpscan's recognizers read the raw text.
    `tokenize=True` runs a blank spaCy pipeline (`spacy.blank(lang)`; Chinese uses spaCy's
    built-in character segmenter, so neither jieba nor pkuseg is needed) for recognizers that
    want tokens, such as Presidio's lemma-based context enhancer.
    """

    def __init__(self, languages: Sequence[str] = (LANGUAGE,), tokenize: bool = False) -> None:
        self.languages = tuple(languages)
        self.tokenize = tokenize
        self._nlp: dict[str, Any] | None = None

    def load(self) -> None:
        import spacy

        self._nlp = {lang: spacy.blank(lang) if self.tokenize else None for lang in self.languages}

    def is_loaded(self) -> bool:
        return self._nlp is not None

    def _pipeline(self, language: str) -> Any:
        if self._nlp is None:
            self.load()
        assert self._nlp is not None
        if language not in self._nlp:
            raise ValueError(f"language {language!r} not configured; configured: {', '.join(self.languages)}")
        return self._nlp[language]

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        nlp = self._pipeline(language)
        if nlp is None:
            from spacy.tokens import Doc
            from spacy.vocab import Vocab

            return NlpArtifacts([], Doc(Vocab(), words=[]), [], [], self, language)
        doc = nlp(text)
        lemmas = [t.lemma_ or t.text for t in doc]
        return NlpArtifacts([], doc, [t.idx for t in doc], lemmas, self, language)

    def process_batch(
        self, texts: Iterable[str], language: str, batch_size: int = 1, n_process: int = 1, **kwargs: Any
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        for text in texts:
            yield text, self.process_text(str(text), language)

    def is_stopword(self, word: str, language: str) -> bool:
        nlp = self._pipeline(language)
        return bool(nlp is not None and nlp.vocab[word].is_stop)

    def is_punct(self, word: str, language: str) -> bool:
        nlp = self._pipeline(language)
        return bool(nlp is not None and nlp.vocab[word].is_punct)

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return list(self.languages)


def recognizers(definitions: Iterable[RecognizerDef] | None = None) -> list[EntityRecognizer]:
    """One recognizer per definition (shipped ones by default), plus the companion-name
    recognizer when CN_NAME is defined. All support language 'zh'."""
    defs = tuple(definitions if definitions is not None else load_definitions())
    members: list[DefinitionRecognizer] = []
    order, known = 0, label_words(defs)
    for d in defs:
        members.append(DefinitionRecognizer(d, order, known))
        order += len(d.patterns)
    out: list[EntityRecognizer] = list(members)
    if any(d.entity == "CN_NAME" for d in defs):
        out.append(CompanionNameRecognizer(members))
    return out


def analyzer_engine(definitions: Iterable[RecognizerDef] | None = None) -> AnalyzerEngine:
    """A ready AnalyzerEngine for 'zh' holding only dlpscan's recognizers; no network, no model."""
    registry = RecognizerRegistry(recognizers=recognizers(definitions), supported_languages=[LANGUAGE])
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=OfflineNlpEngine(),
        supported_languages=[LANGUAGE],
        context_aware_enhancer=ResolvingContextEnhancer(),
    )
