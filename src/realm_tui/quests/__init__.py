"""quests"""
