from pathlib import Path

from lab.images import context_files, tree_hash


def make_repo(root: Path) -> None:
    for rel in (
        "sims/drbd/node.py",
        "sims/drbd/__pycache__/node.pyc",
        "compose/drbd/Dockerfile",
        "compose/arp/Dockerfile",
        ".venv/lib/x.py",
        "reports/test/results.json",
        "README.md",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    (root / ".dockerignore").write_text("# only what the image needs\n*\n!sims\n!compose/drbd\n**/__pycache__\n")


def test_context_honours_dockerignore(tmp_path: Path) -> None:
    make_repo(tmp_path)
    got = sorted(p.relative_to(tmp_path).as_posix() for p in context_files(tmp_path))
    assert got == ["compose/drbd/Dockerfile", "sims/drbd/node.py"]


def test_hash_changes_with_inputs_only(tmp_path: Path) -> None:
    make_repo(tmp_path)
    before = tree_hash(tmp_path)
    (tmp_path / "reports/test/results.json").write_text("another run")  # not in the context
    assert tree_hash(tmp_path) == before
    (tmp_path / "sims/drbd/node.py").write_text("changed")
    assert tree_hash(tmp_path) != before
    assert tree_hash(tmp_path, "other base") != tree_hash(tmp_path)


def test_without_dockerignore_everything_counts(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1")
    (tmp_path / "d").mkdir()
    (tmp_path / "d/b").write_text("2")
    assert [p.name for p in context_files(tmp_path)] == ["a", "b"]


def test_a_pinned_reference_replaces_the_tag_and_keeps_a_registry_port() -> None:
    from lab.images import _pinned_ref

    assert _pinned_ref("opslab/arp-node:latest", "ab12") == "opslab/arp-node:ab12"
    assert _pinned_ref("opslab/arp-node", "ab12") == "opslab/arp-node:ab12"
    assert _pinned_ref("localhost:5000/x", "ab12") == "localhost:5000/x:ab12"


def test_what_is_hashed_is_what_is_sent_and_never_pycache(tmp_path: Path) -> None:
    """pip writes __pycache__ beside an installed lab's programs; it is neither hashed nor sent to Docker."""
    import tarfile

    from lab.images import context_tar

    (tmp_path / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "writer.py").write_text("print(1)\n")
    before = tree_hash(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "writer.cpython-311.pyc").write_bytes(b"\0")
    assert tree_hash(tmp_path) == before
    with context_tar(tmp_path) as raw, tarfile.open(fileobj=raw) as tar:
        assert sorted(tar.getnames()) == ["Dockerfile", "writer.py"]


def test_images_are_built_for_every_engine_a_lab_offers() -> None:
    from lab.images import image_variants, lab_images
    from lab.spec import get_spec

    mysql = get_spec("mysql")
    engines = [lab_images(mysql, env) for env in image_variants(mysql)]
    assert [sorted(i) for i in engines] == [["opslab/mysql-node:mariadb-10.11"], ["opslab/mysql-node:mariadb-11.8"]]
    assert engines[1]["opslab/mysql-node:mariadb-11.8"]["args"]["BASE"] == "opslab/base:trixie"
    assert len(image_variants(get_spec("arp"))) == 1  # its parameters change no image
