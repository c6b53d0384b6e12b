"""battle"""
