print("mdd")
