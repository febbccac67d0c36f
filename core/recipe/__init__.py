"""Recipes: the YAML file that says which systems to simulate and which plugin runs each stage."""

from core.recipe.loader import ResolvedRecipe, load_recipe

__all__ = ["ResolvedRecipe", "load_recipe"]
