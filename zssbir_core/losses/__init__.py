"""The three training losses of Tursun et al. (2022), one module each."""

from zssbir_core.losses.knowledge_preservation import KnowledgePreservationLoss
from zssbir_core.losses.quadruplet import DomainBalancedQuadrupletLoss
from zssbir_core.losses.semantic import SemanticClassificationLoss

__all__ = [
    "DomainBalancedQuadrupletLoss",
    "KnowledgePreservationLoss",
    "SemanticClassificationLoss",
]
