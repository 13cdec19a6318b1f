"""What the bot costs: tokens GLM reported, counted per month, bounded by quotas."""
