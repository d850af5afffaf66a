"""Running campaigns: locally (resumable) and, later, on clusters via FireWorks."""
