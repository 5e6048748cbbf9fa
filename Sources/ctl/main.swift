print("mdctl")
