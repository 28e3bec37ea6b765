"""The env-agnostic core of ued: the env protocol and wrappers, learners, networks, rollouts,
the curriculum interface, level buffer and scores, the UED and meta-training programs, the host
loop, evaluation, checkpoints, logging and plots. ``ued.app`` is the application layer that
builds runs from configs; env families live in ``envs`` and curricula in ``algorithms``."""
