"""The fixture notebooks here are grader inputs, not lessons: nbval must not run them
(`make test` passes ``--nbval``, which collects every ``.ipynb`` under ``tests/``)."""

collect_ignore_glob = ["*.ipynb"]
