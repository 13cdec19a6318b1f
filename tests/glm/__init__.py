"""Tests of bot.glm (a package so that module names here cannot clash with other tests/ dirs)."""
