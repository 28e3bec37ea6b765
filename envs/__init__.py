"""Environment families. Importing a family's package registers it in ``ued.registry.ENVS``
with its capabilities (see ``ued.env.EnvSpec``); ``ued.app.builtins`` declares each name with
its package, so a program imports only the families it uses:

* ``--env maze`` (``envs.maze``): success, oracle, mutator, editor, renderer, text format,
  suites, descriptors, encoder.
* ``--env gridworld`` and ``--env gridworld-rand`` (``envs.gridworld``, LPG's gridworlds):
  oracle (tabular only), renderer, text format, suites, descriptors, encoder.
* ``--env cartpole``, ``--env acrobot``, ``--env mountain-car``, ``--env pendulum``
  (``envs.control``, gymnax's classic control, levels = physical parameters; Pendulum has
  continuous actions): success (not Pendulum), mutator, suites, descriptors.
* ``--env breakout``, ``--env space-invaders``, ``--env asterix``, ``--env freeway``
  (``envs.minatar``, gymnax's MinAtar games, levels = integer timers, played by the same gymnax
  adapter; Breakout has no parameters: one fixed task): mutator, suites, descriptors.
* ``--env craftax-classic`` (``envs.craftax``, Craftax-Classic with symbolic observations, levels =
  compact worlds): mutator, renderer, suites, descriptors, achievements as episode outcomes.
"""
