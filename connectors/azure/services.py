"""Azure meter categories and service families → FOCUS ServiceCategory / ServiceSubcategory.

`MeterCategory` names the service (`Virtual Machines`, `Storage`, `Bandwidth`); the newer
`ServiceFamily` names its family (`Compute`, `AI + Machine Learning`). A meter category in
`BY_METER_CATEGORY` decides both FOCUS columns; otherwise the family decides the category
(subcategory `Other (<category>)`); otherwise it is `Other`.
"""

from __future__ import annotations

from typing import Final

import polars as pl

BY_METER_CATEGORY: Final[dict[str, tuple[str, str]]] = {
    "virtual machines": ("Compute", "Virtual Machines"),
    "virtual machines licenses": ("Compute", "Virtual Machines"),
    "cloud services": ("Compute", "Virtual Machines"),
    "azure kubernetes service": ("Compute", "Containers"),
    "container instances": ("Compute", "Containers"),
    "container registry": ("Compute", "Containers"),
    "azure container apps": ("Compute", "Containers"),
    "functions": ("Compute", "Serverless Compute"),
    "azure virtual desktop": ("Compute", "End User Computing"),
    "windows virtual desktop": ("Compute", "End User Computing"),
    "azure app service": ("Web", "Application Platforms"),
    "app service": ("Web", "Application Platforms"),
    "azure spring apps": ("Web", "Application Platforms"),
    "static web apps": ("Web", "Application Platforms"),
    "storage": ("Storage", "Storage Platforms"),
    "backup": ("Storage", "Backup Storage"),
    "azure netapp files": ("Storage", "File Storage"),
    "bandwidth": ("Networking", "Network Connectivity"),
    "virtual network": ("Networking", "Network Infrastructure"),
    "load balancer": ("Networking", "Application Networking"),
    "application gateway": ("Networking", "Application Networking"),
    "vpn gateway": ("Networking", "Network Connectivity"),
    "expressroute": ("Networking", "Network Connectivity"),
    "nat gateway": ("Networking", "Network Connectivity"),
    "azure dns": ("Networking", "Network Routing"),
    "dns": ("Networking", "Network Routing"),
    "traffic manager": ("Networking", "Network Routing"),
    "content delivery network": ("Networking", "Content Delivery"),
    "azure front door service": ("Networking", "Content Delivery"),
    "azure firewall": ("Networking", "Network Security"),
    "azure ddos protection": ("Networking", "Network Security"),
    "network watcher": ("Management and Governance", "Observability"),
    "sql database": ("Databases", "Relational Databases"),
    "sql managed instance": ("Databases", "Relational Databases"),
    "azure database for postgresql": ("Databases", "Relational Databases"),
    "azure database for mysql": ("Databases", "Relational Databases"),
    "azure database for mariadb": ("Databases", "Relational Databases"),
    "azure cosmos db": ("Databases", "NoSQL Databases"),
    "redis cache": ("Databases", "Caching"),
    "azure synapse analytics": ("Analytics", "Analytics Platforms"),
    "azure databricks": ("Analytics", "Analytics Platforms"),
    "azure data explorer": ("Analytics", "Analytics Platforms"),
    "microsoft fabric": ("Analytics", "Analytics Platforms"),
    "azure data factory v2": ("Analytics", "Data Processing"),
    "hdinsight": ("Analytics", "Data Processing"),
    "event hubs": ("Analytics", "Streaming Analytics"),
    "stream analytics": ("Analytics", "Streaming Analytics"),
    "azure cognitive search": ("Analytics", "Search"),
    "power bi embedded": ("Analytics", "Business Intelligence"),
    "cognitive services": ("AI and Machine Learning", "Other (AI and Machine Learning)"),
    "azure openai": ("AI and Machine Learning", "Generative AI"),
    "azure machine learning": ("AI and Machine Learning", "Machine Learning"),
    "machine learning studio": ("AI and Machine Learning", "Machine Learning"),
    "service bus": ("Integration", "Messaging"),
    "event grid": ("Integration", "Messaging"),
    "logic apps": ("Integration", "Workflow Orchestration"),
    "api management": ("Integration", "API Management"),
    "key vault": ("Security", "Secret Management"),
    "microsoft defender for cloud": ("Security", "Security Posture Management"),
    "security center": ("Security", "Security Posture Management"),
    "sentinel": ("Security", "Threat Detection and Response"),
    "advanced threat protection": ("Security", "Threat Detection and Response"),
    "log analytics": ("Management and Governance", "Observability"),
    "azure monitor": ("Management and Governance", "Observability"),
    "insight and analytics": ("Management and Governance", "Observability"),
    "application insights": ("Management and Governance", "Observability"),
    "automation": ("Management and Governance", "Other (Management and Governance)"),
    "azure site recovery": ("Management and Governance", "Disaster Recovery"),
    "azure support": ("Management and Governance", "Support"),
    "azure active directory": ("Identity", "Identity and Access Management"),
    "microsoft entra id": ("Identity", "Identity and Access Management"),
    "azure devops": ("Developer Tools", "Developer Platforms"),
    "iot hub": ("Internet of Things", "IoT Platforms"),
    "media services": ("Media", "Media Streaming"),
    "azure migrate": ("Migration", "Resource Migration"),
    "data box": ("Migration", "Data Migration"),
    "azure arc": ("Multicloud", "Multicloud Integration"),
    "notification hubs": ("Mobile", "Other (Mobile)"),
}

# ServiceFamily → FOCUS ServiceCategory
BY_SERVICE_FAMILY: Final[dict[str, str]] = {
    "compute": "Compute",
    "containers": "Compute",
    "windows virtual desktop": "Compute",
    "azure stack": "Compute",
    "storage": "Storage",
    "networking": "Networking",
    "databases": "Databases",
    "analytics": "Analytics",
    "ai + machine learning": "AI and Machine Learning",
    "security": "Security",
    "management and governance": "Management and Governance",
    "developer tools": "Developer Tools",
    "integration": "Integration",
    "internet of things": "Internet of Things",
    "iot": "Internet of Things",
    "web": "Web",
    "mixed reality": "Media",
    "media": "Media",
    "migration": "Migration",
    "identity": "Identity",
    "azure arc": "Multicloud",
}
OTHER: Final = ("Other", "Other (Other)")


def service_category(meter_category: pl.Expr, service_family: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(ServiceCategory, ServiceSubcategory) for each row; never null."""
    meter = meter_category.cast(pl.String).str.strip_chars().str.to_lowercase()
    family = service_family.cast(pl.String).str.strip_chars().str.to_lowercase()
    by_meter = {name: pair[0] for name, pair in BY_METER_CATEGORY.items()}
    sub_by_meter = {name: pair[1] for name, pair in BY_METER_CATEGORY.items()}
    from_family = family.replace_strict(BY_SERVICE_FAMILY, default=None, return_dtype=pl.String)
    category = pl.coalesce(
        meter.replace_strict(by_meter, default=None, return_dtype=pl.String),
        from_family, pl.lit(OTHER[0]))
    subcategory = pl.coalesce(
        meter.replace_strict(sub_by_meter, default=None, return_dtype=pl.String),
        pl.lit("Other (") + category + pl.lit(")"))
    return category, subcategory
