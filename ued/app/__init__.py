"""The application layer: what users run, built on the core.

``build`` composes env, learner, curriculum and program from a config; ``cli`` is the ``ued``
command; ``bench``, ``report`` and ``packaging`` are its benchmark, report and shipping
commands; ``builtins`` declares the built-in env families and algorithms by name. Only this
layer reaches ``envs`` and ``algorithms`` (through the registry's entry points), and nothing in
the core imports it (import-linter contracts in ``setup.cfg``).
"""
