"""The student's observation encoder for the maze (the UED literature's network):
view (V x V x 3) -> Conv 16 3x3 VALID -> ReLU -> flatten, direction one-hot(4) -> Dense 5,
concatenated."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ued.networks import PatchConv, orthogonal_dense


class MazeEncoder(nn.Module):
    """``MazeObs`` leaves ``[T, B, ...]`` -> features ``f32[T, B, F]``.

    Args (module fields):
        conv_filters: filters of the 3x3 VALID convolution over the view (0 = no convolution).
        direction_features: width of the direction embedding.
        input_scale: factor applied to the view's cells before the convolution (0.1 for
            MiniGrid-encoded views, JaxUED's ``normalize_obs``; 1 for one-hot views).
    """

    conv_filters: int = 16
    direction_features: int = 5
    input_scale: float = 1.0

    @nn.compact
    def __call__(self, obs):
        t, batch = obs.agent_dir.shape[:2]
        image = obs.image.astype(jnp.float32)
        if self.input_scale != 1.0:
            image = image * self.input_scale
        if self.conv_filters:  # nn.Conv's parameters and outputs, as one matmul over patches
            image = nn.relu(PatchConv(self.conv_filters, 3, padding="VALID", name="Conv_0")(image))
        image = image.reshape(t, batch, -1)
        direction = jax.nn.one_hot(obs.agent_dir, 4, dtype=jnp.float32)
        direction = orthogonal_dense(self.direction_features, np.sqrt(2))(direction)
        return jnp.concatenate([image, direction], axis=-1)
